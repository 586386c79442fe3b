"""`s3` blobs: one object per revision under `<instance key>/<rev>` in a bucket, through aiobotocore.

An upload streams into the object under the key it keeps (the revision is
random and never reused, so the key needs no node id and `place` has nothing
to move): one PUT for a small file, else a multipart upload of PART-sized
parts, one part in flight while the next arrives, the checksums computed on two
lanes meanwhile. Nothing is staged on local disk. A copy is a server-side
CopyObject; a download a ranged GetObject.

A crash between the bytes and the commit leaves an object no metadata names,
and a crash mid-upload an unfinished multipart upload: `sweep` removes both
once older than the upload expiration. The calls the metadata writer makes
(`link`, `remove`) run on the event loop: awaited through the writer's greenlet
on PostgreSQL, waited for from the writer thread on SQLite (`sql.bridge`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ocisd.api.storage.v1 import errors
from ocisd.logs import get_logger
from ocisd.sql import bridge
from ocisd.storage.checksums import Hasher
from ocisd.storage.resources import Staged

from . import BlobStore, Referenced, unavailable

log = get_logger("storage.s3")
T = TypeVar("T")
PART = 8 << 20  # bytes per multipart part (S3 wants at least 5 MiB but for the last)
PIECE = 1 << 20  # bytes per piece a ranged read yields
BRIDGE_TIMEOUT = 300.0  # a metadata-writer call waits this long at most (a CopyObject of a large file)
_FAILURES = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class S3Blobs(BlobStore):
    def __init__(self, config: Any, instance: str) -> None:
        self.bucket = config.s3_bucket
        self.prefix = f"{instance}/"
        self._endpoint = config.s3_endpoint or f"AWS {config.s3_region}"
        self._client_args = {
            "region_name": config.s3_region,
            "endpoint_url": config.s3_endpoint or None,
            "aws_access_key_id": config.s3_access_key or None,
            "aws_secret_access_key": config.s3_secret_key or None,
            "config": Config(
                s3={"addressing_style": "path" if config.s3_path_style else "auto"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                max_pool_connections=64,
                # Our own SHA1/MD5/Adler-32 already cover the bytes: no extra CRC pass per request.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        self._lanes = tuple(ThreadPoolExecutor(1, thread_name_prefix=f"s3-hash{i}") for i in range(2))
        self._stack = AsyncExitStack()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None

    def key(self, name: str) -> str:
        """A blob's object key: the revision alone (random, never reused) under the instance's prefix."""
        return self.prefix + name.rpartition(".")[2]

    async def call(self, what: str, op: Callable[..., Coroutine[Any, Any, T]], **args: Any) -> T:
        """One S3 request; a store that cannot be reached or refuses is StorageError UNAVAILABLE."""
        try:
            return await op(Bucket=self.bucket, **args)
        except _FAILURES as exc:
            raise unavailable(f"S3 {what} at {self._endpoint} (bucket {self.bucket}): {_why(exc)}") from exc

    def _bridged(self, coro: Coroutine[Any, Any, T]) -> T:
        """`coro`'s result for the metadata writer: its greenlet on the loop, or its thread."""
        assert self._loop is not None
        return bridge.wait(coro, self._loop, BRIDGE_TIMEOUT)

    async def open(self) -> int:
        self._loop = asyncio.get_running_loop()
        self.client = await self._stack.enter_async_context(get_session().create_client("s3", **self._client_args))
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                await self.close()
                raise unavailable(f"S3 {self._endpoint} refuses bucket {self.bucket!r}: {_why(exc)}") from exc
            await self._create_bucket()
        except _FAILURES as exc:
            await self.close()
            raise unavailable(f"S3 {self._endpoint} cannot be reached: {_why(exc)}") from exc
        return 0  # leftovers need the metadata: `sweep` finds them

    async def _create_bucket(self) -> None:
        region = self._client_args["region_name"]
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            await self.client.create_bucket(Bucket=self.bucket, **where)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                await self.close()
                raise unavailable(f"S3 {self._endpoint} cannot create bucket {self.bucket!r}: {_why(exc)}") from exc
        log.info("created bucket", bucket=self.bucket, endpoint=self._endpoint)

    async def close(self) -> None:
        await self._stack.aclose()
        for lane in self._lanes:
            await asyncio.to_thread(lane.shutdown, True)

    async def sink(self) -> S3Sink:
        return S3Sink(self, self._lanes)

    def place(self, source: Path | None, name: str) -> None:
        assert source is None, "an S3 sink stores its bytes under their key"

    def link(self, source: str, name: str) -> None:
        copy = self.client.copy_object
        self._bridged(
            self.call("copy", copy, Key=self.key(name), CopySource={"Bucket": self.bucket, "Key": self.key(source)})
        )

    def sync_dirs(self, names: list[str]) -> None:
        """An object is durable once S3 answered its write."""

    def remove(self, names: list[str]) -> None:
        self._bridged(self._delete([self.key(n) for n in names]))

    async def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):  # DeleteObjects takes up to 1000 keys
            batch = {"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
            found = await self.call("delete", self.client.delete_objects, Delete=batch)
            if found.get("Errors"):
                raise unavailable(f"S3 delete in bucket {self.bucket}: {found['Errors'][0]}")

    def content(self, name: str, size: int) -> S3Reader:
        return S3Reader(self, self.key(name), size)

    async def sweep(self, referenced: Referenced, older_than: float) -> int:
        cutoff = time.time() - older_than
        swept = 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
        async for page in _pages(self, pages):
            for up in page.get("Uploads", []):
                if up["Initiated"].timestamp() < cutoff:
                    abort = self.client.abort_multipart_upload
                    await self.call("abort upload", abort, Key=up["Key"], UploadId=up["UploadId"])
                    swept += 1
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        async for page in _pages(self, pages):
            old = {
                o["Key"][len(self.prefix) :] for o in page.get("Contents", []) if o["LastModified"].timestamp() < cutoff
            }
            orphans = old - await referenced(sorted(old)) if old else set()
            await self._delete([self.prefix + rev for rev in sorted(orphans)])
            swept += len(orphans)
        return swept


async def _pages(store: S3Blobs, pages: Any) -> AsyncGenerator[dict[str, Any], None]:
    """A paginator's pages, its failures as UNAVAILABLE."""
    iterator = pages.__aiter__()
    while True:
        try:
            page = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except _FAILURES as exc:
            raise unavailable(f"S3 listing of bucket {store.bucket}: {_why(exc)}") from exc
        yield page


class S3Sink:
    """One upload into the object it will stay: a single PUT when it ends before one part is full,
    else a multipart upload with one part in flight while the next fills."""

    path: Path | None = None  # nothing local: `place` has nothing to move

    def __init__(self, store: S3Blobs, lanes: tuple[ThreadPoolExecutor, ...]) -> None:
        self.rev = secrets.token_hex(8)
        self.size = 0
        self._store = store
        self._key = store.prefix + self.rev
        self._hasher = Hasher()
        self._lanes = lanes
        self._hashing: list[asyncio.Future[object]] = []
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._upload_id = ""
        self._parts: list[dict[str, Any]] = []
        self._sending: asyncio.Task[None] | None = None
        self._stored = False

    async def write(self, data: bytes | Sequence[bytes]) -> None:
        await self._settle()
        pieces = [data] if isinstance(data, bytes) else list(data)  # the caller may reuse its list
        loop = asyncio.get_running_loop()
        jobs = (self._hasher.md5_pieces, self._hasher.sha1_adler_pieces)
        self._hashing = [loop.run_in_executor(lane, job, pieces) for lane, job in zip(self._lanes, jobs)]
        count = sum(len(p) for p in pieces)
        self.size += count
        self._buffer += pieces
        self._buffered += count
        if self._buffered >= PART:
            await self._send_part()

    async def _settle(self) -> None:
        hashing, self._hashing = self._hashing, []
        await asyncio.gather(*hashing)

    async def _send_part(self) -> None:
        body, self._buffer, self._buffered = b"".join(self._buffer), [], 0
        s = self._store
        if not self._upload_id:
            started = await s.call("upload", s.client.create_multipart_upload, Key=self._key)
            self._upload_id = started["UploadId"]
        await self._sent()
        self._parts.append({"PartNumber": len(self._parts) + 1})
        self._sending = asyncio.create_task(self._put_part(self._parts[-1], body))

    async def _put_part(self, part: dict[str, Any], body: bytes) -> None:
        s = self._store
        args = {"Key": self._key, "UploadId": self._upload_id, "PartNumber": part["PartNumber"], "Body": body}
        part["ETag"] = (await s.call("upload part", s.client.upload_part, **args))["ETag"]

    async def _sent(self) -> None:
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending

    async def finish(self) -> Staged:
        await self._settle()
        s = self._store
        if not self._upload_id:
            await s.call("put", s.client.put_object, Key=self._key, Body=b"".join(self._buffer))
            self._buffer = []
        else:
            if self._buffered:
                await self._send_part()
            await self._sent()
            done = {"Parts": self._parts}
            await s.call(
                "upload",
                s.client.complete_multipart_upload,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload=done,
            )
        self._stored = True
        d = self._hasher.digests()
        return Staged(rev=self.rev, size=self.size, sha1=d["SHA1"], md5=d["MD5"], adler32=d["ADLER32"])

    async def abort(self) -> None:
        hashing, self._hashing = self._hashing, []
        await asyncio.gather(*hashing, return_exceptions=True)
        if self._sending is not None:
            self._sending.cancel()
            await asyncio.gather(self._sending, return_exceptions=True)
        s = self._store
        try:
            if self._stored:
                await s.call("delete", s.client.delete_object, Key=self._key)
            elif self._upload_id:
                await s.call("abort upload", s.client.abort_multipart_upload, Key=self._key, UploadId=self._upload_id)
        except errors.StorageError as exc:  # the sweep removes it later
            log.warning("aborted upload left in S3", key=self._key, error=exc.message)


class S3Reader:
    """A blob's bytes by span: one ranged GetObject, yielded as the pieces arrive."""

    def __init__(self, store: S3Blobs, key: str, size: int) -> None:
        self._store = store
        self._key = key
        self.size = size

    async def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        if count <= 0:
            return
        s = self._store
        got = await s.call("read", s.client.get_object, Key=self._key, Range=f"bytes={offset}-{offset + count - 1}")
        body = got["Body"]
        try:
            while piece := await body.read(PIECE):
                yield piece
        except _FAILURES as exc:
            raise unavailable(f"S3 read of {self._key}: {_why(exc)}") from exc
        finally:
            body.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', '?')} {err.get('Message', '')}".strip()
    return str(exc) or type(exc).__name__
