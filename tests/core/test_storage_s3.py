"""The local driver with `blobs = s3`, in-process against a real SeaweedFS: uploads (one PUT, multipart),
overwrite, versions, copy, restore, trash, garbage, the sweep of orphans and abandoned uploads, the bucket
made when missing, and a clear error for a store that cannot be reached."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs.s3 import PART, S3Blobs
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Node, Ref, UploadOptions
from ocisd.storage.service.config import StorageConfig
from tests.support.seaweedfs import SeaweedFS

SPACE = "s"
_buckets = itertools.count(1)


def s3_config(server: SeaweedFS, bucket: str, **more: Any) -> StorageConfig:
    return StorageConfig(  # type: ignore[arg-type]
        blobs="s3", s3_endpoint=server.endpoint, s3_bucket=bucket, s3_access_key=server.access_key,
        s3_secret_key=server.secret_key, s3_path_style=True, **more,
    )  # fmt: skip


async def put(driver: LocalDriver, path: str, data: bytes, pieces: int = 1) -> Node:
    sink = await driver.open_upload()
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        await sink.write(data[i : i + step])
    node, _ = await driver.commit_upload(Ref(SPACE, path), UploadOptions(size=len(data)), sink)
    return node


async def content(driver: LocalDriver, path: str, key: str = "", offset: int = 0, count: int = -1) -> bytes:
    ref = Ref(SPACE, path)
    _, blob = await (driver.download_version(ref, key) if key else driver.download(ref))
    assert blob is not None and not isinstance(blob, Path)
    count = blob.size - offset if count < 0 else count
    return b"".join([piece async for piece in blob.read(offset, count)])


async def keys(driver: LocalDriver) -> set[str]:
    store = driver._blobs
    assert isinstance(store, S3Blobs)
    found = await store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return {o["Key"] for o in found.get("Contents", [])}


def run(
    seaweedfs: SeaweedFS, tmp_path: Path, scenario: Callable[[LocalDriver], Awaitable[None]], **settings: Any
) -> None:
    async def main() -> None:
        driver = LocalDriver(s3_config(seaweedfs, f"core-{os.getpid()}-{next(_buckets)}", **settings), tmp_path)
        await driver.open()
        await driver.ensure_space(SPACE, "owner")
        try:
            await scenario(driver)
        finally:
            await driver.close()

    asyncio.run(main())


def test_uploads_overwrites_versions_copies_and_restores_keep_their_bytes_in_s3(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    async def scenario(driver: LocalDriver) -> None:
        first = await put(driver, "/a.txt", b"one")
        assert await keys(driver) == {f"storage_users/{first.rev}"}  # the bucket was made; the key is the rev
        second = await put(driver, "/a.txt", b"two!")
        assert await content(driver, "/a.txt") == b"two!" and await content(driver, "/a.txt", first.rev) == b"one"
        await driver.copy(Ref(SPACE, "/a.txt"), Ref(SPACE, "/b.txt"), False, (), False, 0)
        assert await content(driver, "/b.txt") == b"two!"
        restored = await driver.restore_version(Ref(SPACE, "/a.txt"), first.rev, ())
        assert await content(driver, "/a.txt") == b"one" and await content(driver, "/a.txt", second.rev) == b"two!"
        assert len(await keys(driver)) == 3  # two!, the copy, the restored revision (its version's went)
        await driver.delete(Ref(SPACE, "/b.txt"), (), "")
        (item,) = await driver.trash_items(SPACE)
        await driver.restore_trash(SPACE, item.node.id, Ref(SPACE, "/b.txt"), ())
        assert await content(driver, "/b.txt", offset=1, count=2) == b"wo"
        await driver.delete(Ref(SPACE, "/b.txt"), (), "")
        assert await driver.purge_trash(SPACE, "") == 1
        live = {f"storage_users/{r}" for r in (second.rev, restored.rev)}
        assert await keys(driver) == live  # the purged copy's object went with it

    run(seaweedfs, tmp_path, scenario)


def test_a_large_file_goes_up_in_parts_and_reads_back_by_range(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    data = os.urandom(5 * PART + 12345)

    async def scenario(driver: LocalDriver) -> None:
        node = await put(driver, "/big.bin", data, pieces=97)
        assert node.size == len(data) and node.sha1 == hashlib.sha1(data).hexdigest()
        assert node.md5 == hashlib.md5(data).hexdigest()
        assert await content(driver, "/big.bin") == data
        assert await content(driver, "/big.bin", offset=PART - 5, count=10) == data[PART - 5 : PART + 5]

    run(seaweedfs, tmp_path, scenario)


def test_a_refused_upload_leaves_no_object(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver) -> None:
        sink = await driver.open_upload()
        await sink.write(b"x" * 10)
        with pytest.raises(errors.StorageError, match="size-mismatch"):
            await driver.commit_upload(Ref(SPACE, "/f"), UploadOptions(size=11), sink)
        assert await keys(driver) == set()

    run(seaweedfs, tmp_path, scenario)


def test_the_sweep_removes_orphans_and_abandoned_multipart_uploads_but_nothing_referenced(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    async def scenario(driver: LocalDriver) -> None:
        kept = await put(driver, "/kept.txt", b"kept")
        store = driver._blobs
        assert isinstance(store, S3Blobs)
        # What a crash leaves: bytes stored but never committed, and a multipart upload never completed.
        orphan = await store.sink()
        await orphan.write(b"never committed")
        await orphan.finish()
        half = await store.sink()
        await half.write(os.urandom(PART))  # the first part goes up
        await asyncio.sleep(0)
        assert await store.sweep(driver._live_revs, 3600.0) == 0  # young: perhaps still in use
        await asyncio.sleep(1.5)
        assert await store.sweep(driver._live_revs, 1.0) == 2
        assert await keys(driver) == {f"storage_users/{kept.rev}"}
        ups = await store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
        assert ups.get("Uploads", []) == []
        assert await content(driver, "/kept.txt") == b"kept"

    run(seaweedfs, tmp_path, scenario)


def test_an_unreachable_store_is_a_clear_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = StorageConfig(blobs="s3", s3_endpoint="http://127.0.0.1:9", s3_access_key="k", s3_secret_key="s")  # type: ignore[arg-type]
        driver = LocalDriver(cfg, tmp_path)
        with pytest.raises(errors.StorageError, match=r"S3 http://127.0.0.1:9 cannot be reached") as raised:
            await driver.open()
        assert raised.value.kind == errors.Kind.UNAVAILABLE

    asyncio.run(scenario())


def test_wrong_credentials_are_a_clear_error(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = s3_config(seaweedfs, "creds-check")
        cfg.s3_secret_key = "wrong"
        driver = LocalDriver(cfg, tmp_path)
        with pytest.raises(errors.StorageError, match=r"refuses bucket 'creds-check'|cannot create bucket"):
            await driver.open()

    asyncio.run(scenario())
