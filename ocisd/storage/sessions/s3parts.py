"""Upload sessions' multipart uploads in the `s3` blob store: the object of revision `rev` is the blob.

Each session's upload goes to the key its blob keeps (`<instance key>/<rev>`),
so completing it stores the blob and the driver's commit moves nothing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from botocore.exceptions import ClientError

from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs.s3 import S3Blobs


class S3Parts:
    """`multipart.PartStore` on the instance's bucket and prefix."""

    def __init__(self, store: S3Blobs) -> None:
        self._store = store

    def _key(self, rev: str) -> str:
        return self._store.prefix + rev

    async def begin(self, rev: str) -> str:
        s = self._store
        started = await s.call("upload", s.client.create_multipart_upload, Key=self._key(rev))
        return str(started["UploadId"])

    async def put_part(self, rev: str, upload_id: str, number: int, data: bytes) -> str:
        s = self._store
        args = {"Key": self._key(rev), "UploadId": upload_id, "PartNumber": number, "Body": data}
        return str((await s.call("upload part", s.client.upload_part, **args))["ETag"])

    async def complete(self, rev: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        s = self._store
        done = {"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]}
        try:
            await s.call(
                "upload",
                s.client.complete_multipart_upload,
                Key=self._key(rev),
                UploadId=upload_id,
                MultipartUpload=done,
            )
        except errors.StorageError as exc:
            if _code(exc) != "NoSuchUpload" or not await self._stored(rev):
                raise

    async def _stored(self, rev: str) -> bool:
        """The blob exists: a finish completed the upload before (this is a retry after a crash)."""
        s = self._store
        try:
            await s.call("stat", s.client.head_object, Key=self._key(rev))
        except errors.StorageError:
            return False
        return True

    async def abort(self, rev: str, upload_id: str) -> None:
        s = self._store
        try:
            await s.call("abort upload", s.client.abort_multipart_upload, Key=self._key(rev), UploadId=upload_id)
        except errors.StorageError as exc:
            if _code(exc) != "NoSuchUpload":
                raise

    def read(self, rev: str, size: int) -> AsyncGenerator[bytes, None]:
        return self._store.content(rev, size).read(0, size)


def _code(exc: errors.StorageError) -> str:
    """S3's error code behind a StorageError ("" if the store was not reached)."""
    cause = exc.__cause__
    return str(cause.response.get("Error", {}).get("Code", "")) if isinstance(cause, ClientError) else ""
