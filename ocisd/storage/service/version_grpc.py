"""The file-version methods of the Storage service (mixed into `grpc.StorageService`)."""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.permissions import UPDATE
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import handled
from ocisd.storage.driver import Base
from ocisd.storage.resources import Version

from . import transfer
from .access import Access

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class Servicer(Protocol):
    """What the methods below use of the servicer they are mixed into."""

    _driver: Base
    _transfers: transfer.Transfers

    async def _ref(self, ref: pb.Reference, need: int = ...) -> Access: ...


def version_message(v: Version) -> pb.FileVersion:
    msg = pb.FileVersion(
        key=v.key, size=v.size, mtime_ns=v.mtime, etag=v.etag, edited_by=v.edited_by, created_ns=v.created
    )
    msg.checksums.sha1, msg.checksums.md5, msg.checksums.adler32 = v.sha1, v.md5, v.adler32
    return msg


class VersionMethods:
    @handled
    async def ListFileVersions(
        self: Servicer, request: pb.ListFileVersionsRequest, context: Ctx
    ) -> pb.ListFileVersionsResponse:
        a = await self._ref(request.ref)
        node, found = await self._driver.list_versions(a.ref)
        return pb.ListFileVersionsResponse(info=a.info(node), versions=[version_message(v) for v in found])

    @handled
    async def InitiateVersionDownload(
        self: Servicer, request: pb.InitiateVersionDownloadRequest, context: Ctx
    ) -> pb.InitiateFileDownloadResponse:
        a = await self._ref(request.ref)
        node, _ = await self._driver.download_version(a.ref, request.key)
        claims = {"kind": "download", **transfer.ref_claims(a.ref), "version": request.key}
        url, _, expires = self._transfers.url(claims)
        return pb.InitiateFileDownloadResponse(download_url=url, expires=expires, info=a.info(node))

    @handled
    async def RestoreFileVersion(
        self: Servicer, request: pb.RestoreFileVersionRequest, context: Ctx
    ) -> pb.ResourceResponse:
        a = await self._ref(request.ref, UPDATE)
        node = await self._driver.restore_version(a.ref, request.key, tuple(request.lock_tokens))
        return pb.ResourceResponse(info=a.info(node))
