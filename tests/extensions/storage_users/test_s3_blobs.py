"""storage-users with `STORAGE_USERS_BLOBS=s3` on a real SeaweedFS, end to end over its gRPC and data
server: uploads and downloads (Range, 304), a multipart-sized file, SIGKILL mid-upload (nothing visible;
the abandoned multipart upload and an orphan object swept on restart), S3 stopped (503) and recovery."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
from aiobotocore.session import get_session
from botocore.config import Config

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.support.harness import wait_until
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs
from tests.support.storage_stack import Stack, ref, running_stack, start_storage

BUCKET = "ocisd-e2e"  # made by storage-users at its start
PREFIX = "storage_users/"


@pytest.fixture(scope="module")
def s3() -> Iterator[SeaweedFS]:
    """A SeaweedFS of this module's own: a test stops and restarts it."""
    with running_seaweedfs() as server:
        yield server


@pytest.fixture(scope="module")
def stack(s3: SeaweedFS) -> Iterator[Stack]:
    with running_stack(s3.settings("STORAGE_USERS", BUCKET)) as s:
        yield s


def bucket(s3: SeaweedFS, op: str, **args: Any) -> Any:
    """One S3 call on the module's bucket from the test (to look behind storage-users' back)."""

    async def call() -> Any:
        cfg = Config(s3={"addressing_style": "path"})
        async with get_session().create_client(
            "s3", endpoint_url=s3.endpoint, region_name=s3.region, aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key, config=cfg,
        ) as client:  # fmt: skip
            return await getattr(client, op)(Bucket=BUCKET, **args)

    return asyncio.run(call())


def objects(s3: SeaweedFS) -> set[str]:
    return {o["Key"] for o in bucket(s3, "list_objects_v2", Prefix=PREFIX).get("Contents", [])}


def multipart_uploads(s3: SeaweedFS) -> list[str]:
    return [u["Key"] for u in bucket(s3, "list_multipart_uploads", Prefix=PREFIX).get("Uploads", [])]


def test_uploads_and_downloads_go_through_s3(stack: Stack, s3: SeaweedFS) -> None:
    assert stack.upload("/a.txt", b"0123456789").status == 201
    info = stack.stat("/a.txt")
    assert len(objects(s3)) == 1 and not (stack.dep.data_dir / "storage-users" / "blobs").exists()
    assert stack.download("/a.txt").body == b"0123456789"
    part = stack.download("/a.txt", {"Range": "bytes=2-4"})
    assert part.status == 206 and part.body == b"234"
    assert stack.download("/a.txt", {"If-None-Match": f'"{info.etag}"'}).status == 304
    assert stack.upload("/a.txt", b"second").status == 200  # the first revision stays as a version
    assert stack.download("/a.txt").body == b"second" and len(objects(s3)) == 2


def test_a_large_file_is_uploaded_in_parts_and_read_back(stack: Stack) -> None:
    data = os.urandom(40 << 20)
    assert stack.upload("/large.bin", data).status == 201
    assert stack.stat("/large.bin").checksums.sha1 == hashlib.sha1(data).hexdigest()
    assert stack.download("/large.bin").body == data
    tail = stack.download("/large.bin", {"Range": f"bytes={len(data) - 100}-"})
    assert tail.status == 206 and tail.body == data[-100:]


def test_sigkill_mid_upload_shows_nothing_and_the_leftovers_are_swept(stack: Stack, s3: SeaweedFS) -> None:
    assert stack.upload("/crash.bin", b"previous").status == 201
    before = stack.stat("/crash.bin")
    size = 24 << 20
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/crash.bin"), size=size))
    url = urlsplit(init.upload_url)
    upload = HTTPConnection(url.hostname or "", url.port)
    try:
        upload.putrequest("PUT", url.path)
        upload.putheader("Content-Length", str(size))
        upload.endheaders(b"n" * (18 << 20))  # two parts' worth: a multipart upload is open
        wait_until(lambda: multipart_uploads(s3), 30, what="the upload's multipart upload")
        stack.storage.kill()  # SIGKILL
    finally:
        upload.close()
    # A crash between stored bytes and their commit leaves an object no file names.
    bucket(s3, "put_object", Key=f"{PREFIX}0123456789abcdef", Body=b"orphan")
    # Uploads expire at once in the restarted instance, so its start-up sweep takes both leftovers.
    stack.storage = start_storage(stack.dep, {**stack.storage_env, "STORAGE_USERS_UPLOAD_EXPIRATION": "1s"})
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway reaches the restarted storage")
    wait_until(lambda: not multipart_uploads(s3), 30, what="the abandoned multipart upload aborted")
    wait_until(lambda: f"{PREFIX}0123456789abcdef" not in objects(s3), 30, what="the orphan object removed")
    after = stack.stat("/crash.bin")
    assert (after.etag, after.size) == (before.etag, before.size)
    assert stack.download("/crash.bin").body == b"previous"


def test_s3_stopped_answers_503_and_everything_recovers(stack: Stack, s3: SeaweedFS) -> None:
    assert stack.upload("/before.txt", b"stored").status == 201
    s3.stop()
    try:
        refused = stack.upload("/during.txt", b"not stored")
        assert refused.status == 503 and b"blobs-unavailable" in refused.body
        assert stack.stat("/before.txt").size == 6  # metadata still answers
        with pytest.raises(grpc.RpcError) as missing:
            stack.call("Stat", pb.StatRequest(ref=ref("/during.txt")))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # nothing half-visible
    finally:
        s3.start()
    wait_until(lambda: stack.upload("/after.txt", b"stored again").status == 201, 30, what="uploads again")
    assert stack.download("/before.txt").body == b"stored" and stack.download("/after.txt").body == b"stored again"
