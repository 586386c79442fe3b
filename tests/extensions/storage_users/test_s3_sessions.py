"""Resumable uploads where blobs are S3 objects (a real SeaweedFS): each session's bytes become the
parts of one multipart upload, local disk keeps only the unsent tail, a SIGKILL of storage-users
loses nothing acknowledged, expiry aborts the upload, and the desktop client (owncloudcmd) syncs a
large file up in chunking NG chunks and down again through proxy and ocdav (legacy v1 chunks too)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest

from extensions.storage_users.config import StorageUsersConfig
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.sessions.multipart import PART
from ocisd.storage.sessions.upload_sessions import UploadSessions
from tests.clients.test_owncloudcmd import FRONT, same_trees, start
from tests.extensions.storage_users.test_storage_crash import restart_storage
from tests.extensions.storage_users.test_upload_sessions import create, finish, folder_of, names, patch, sha1
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment, wait_until
from tests.support.seaweedfs import SeaweedFS
from tests.support.storage_stack import Stack, http, ref, running_stack

MiB = 1 << 20
BUCKET = "s3-sessions"
PREFIX = "storage_users/"


def pattern(n: int) -> bytes:
    block = hashlib.sha256(str(n).encode()).digest() * 4096  # 128 KiB that differ from one test to the next
    return (block * (n // len(block) + 1))[:n]


@pytest.fixture(scope="module")
def stack(seaweedfs: SeaweedFS) -> Iterator[Stack]:
    with running_stack(seaweedfs.settings("STORAGE_USERS", BUCKET)) as s:
        yield s


def s3(server: SeaweedFS) -> Any:
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )


def uploads(server: SeaweedFS, bucket: str = BUCKET) -> list[dict[str, Any]]:
    """The unfinished multipart uploads under the instance's prefix, each with its parts."""
    client = s3(server)
    found = client.list_multipart_uploads(Bucket=bucket, Prefix=PREFIX).get("Uploads", [])
    for up in found:
        up["Parts"] = client.list_parts(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"]).get("Parts", [])
    return found


def on_disk(path: Path) -> int:
    """Bytes the file really occupies (sent parts are holes)."""
    return os.stat(path).st_blocks * 512


def test_a_tus_upload_goes_to_s3_in_parts_and_resumes_after_sigkill(stack: Stack, seaweedfs: SeaweedFS) -> None:
    data = pattern(2 * PART + 3 * MiB + 12345)
    s = create(stack, ref=ref("/tus.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    first = PART + 2 * MiB
    assert patch(s.data_url, 0, data[:first]).headers["Upload-Offset"] == str(first)
    [up] = [u for u in uploads(seaweedfs) if len(u["Parts"]) == 1]
    assert [p["Size"] for p in up["Parts"]] == [PART]  # a whole part went; the tail waits locally
    data_file = folder_of(stack, s.id) / "data"
    assert data_file.stat().st_size == first and on_disk(data_file) < PART

    # The next piece arrives slowly and storage-users is SIGKILLed in the middle of it.
    url = urlsplit(s.data_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpload-Offset: {first}\r\n"
        sock.sendall(f"{head}Content-Length: {len(data) - first}\r\n\r\n".encode() + data[first : first + MiB])
        wait_until(lambda: data_file.stat().st_size > first, what="the interrupted piece reaching the file")
        restart_storage(stack)

    assert http("HEAD", s.data_url).headers["Upload-Offset"] == str(first)
    assert "tus.bin" not in names(stack)
    assert patch(s.data_url, first, data[first:]).headers["Upload-Offset"] == str(len(data))
    assert "tus.bin" not in names(stack)
    done = finish(stack, s.id)  # hashed by reading the object back: the restart lost the running hash
    assert done.created and done.info.size == len(data) and done.info.checksums.sha1 == sha1(data)
    assert stack.download("/tus.bin").body == data
    assert stack.download("/tus.bin", {"Range": f"bytes={PART - 5}-{PART + 4}"}).body == data[PART - 5 : PART + 5]
    assert up["UploadId"] not in [u["UploadId"] for u in uploads(seaweedfs)]  # completed
    assert not folder_of(stack, s.id).exists()


def test_chunking_ng_chunks_become_parts_in_name_order(stack: Stack, seaweedfs: SeaweedFS) -> None:
    sizes = [6 * MiB, 6 * MiB, 6 * MiB, 5 * MiB, 1234]
    data = pattern(sum(sizes))
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    chunk = [data[o : o + n] for o, n in zip(offsets, sizes)]
    s = create(stack, name="ng-transfer", length=-1)
    for i in (1, 0):  # out of order: 1 waits as a file until 0 arrives, then both join
        assert http("PUT", f"{s.data_url}/{offsets[i]:016d}", chunk[i]).status == 201
    sent = lambda: [len(u["Parts"]) for u in uploads(seaweedfs) if u["Parts"]]  # noqa: E731
    wait_until(lambda: sent() == [1], what="the joined chunks sent as a part")
    again = http("PUT", f"{s.data_url}/{offsets[0]:016d}", chunk[0])  # its bytes are in S3 already
    assert again.status == 409 and b"chunk-sent" in again.body
    for i in (4, 2, 3):
        assert http("PUT", f"{s.data_url}/{offsets[i]:016d}", chunk[i]).status == 201
    done = finish(stack, s.id, ref=ref("/ng.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    assert done.created and done.info.checksums.sha1 == sha1(data)
    assert stack.download("/ng.bin").body == data
    assert sent() == []


async def _body(data: bytes) -> AsyncIterator[list[bytes]]:
    yield [data]


def test_an_expired_session_aborts_its_multipart_upload(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    """The driver and sessions in this process (sessions expire in a second, the driver's own sweep of
    abandoned uploads only after an hour): expiry, not the sweep, aborts the upload."""
    bucket = "s3-expiry"
    config = StorageUsersConfig(  # type: ignore[call-arg]
        blobs="s3", s3_endpoint=seaweedfs.endpoint, s3_bucket=bucket, s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key, s3_path_style=True,
    )  # fmt: skip

    async def run() -> None:
        driver = LocalDriver(config, tmp_path)
        await driver.open()
        sessions = UploadSessions(driver, tmp_path, 1, driver.part_store())
        await sessions.open()
        target = Ref(space="alice-id", path="/expiring.bin")
        s = await sessions.create(sessions.new("alice-id", "alice-id", "", target, -1, UploadOptions(), {}))
        await sessions.append(s.id, 0, _body(pattern(PART + 1)), None)
        assert [len(u["Parts"]) for u in uploads(seaweedfs, bucket)] == [1]
        await asyncio.sleep(max(0.0, s.expires + 1 - time.time()))  # the expiry (whole seconds) has passed
        assert await sessions.expire() == 1
        assert uploads(seaweedfs, bucket) == []
        sessions.close()
        await driver.close()

    asyncio.run(run())


@tools.needs("owncloudcmd")
def test_owncloudcmd_syncs_a_large_file_through_s3_in_chunks(
    dep: Deployment, tmp_path: Path, seaweedfs: SeaweedFS
) -> None:
    bucket = "s3-owncloudcmd"
    client = start(dep, f"{webdav_stack.names(False)},{FRONT}", seaweedfs.settings("STORAGE_USERS", bucket))
    up, down = tmp_path / "up", tmp_path / "down"
    up.mkdir()
    (up / "big.bin").write_bytes(pattern(3 * PART + 5 * MiB))  # over 10 MB: chunking NG
    (up / "small.txt").write_text("small\n")
    assert (done := client.sync(up)).returncode == 0, done.stderr
    chunks = [r for r in client.since_sync("PUT") if r[1].startswith("/remote.php/dav/uploads/")]
    assert len(chunks) >= 2 and all(r[2] in (201, 204) for r in chunks)
    # Legacy (v1) chunks, named by index: they wait as files and become parts when the last one arrives.
    legacy = pattern(PART + 7 * MiB)
    pieces = [legacy[i : i + 6 * MiB] for i in range(0, len(legacy), 6 * MiB)]
    for i in (2, 0, 1):
        reply = client.dav.request("PUT", f"legacy.bin-chunking-4711-3-{i}", pieces[i], {"OC-Chunked": "1"})
        assert reply.status == 201, reply
    assert (done := client.sync(down)).returncode == 0, done.stderr
    assert (down / "legacy.bin").read_bytes() == legacy
    (down / "legacy.bin").unlink()
    assert same_trees(up, down)
    assert uploads(seaweedfs, bucket) == []
    assert s3(seaweedfs).list_objects_v2(Bucket=bucket, Prefix=PREFIX)["KeyCount"] == 3  # the three files' blobs
    staged = dep.data_dir / "storage-users" / "uploads"
    assert staged.is_dir() and not [p for p in staged.iterdir() if p.is_dir()]  # no session bytes stay
