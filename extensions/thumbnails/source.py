"""A source file's bytes, as the caller: InitiateFileDownload through the gateway, then the
signed data URL, pinned to the revision the caller stat'ed (If-Match its etag).

The data URL comes in a provider's answer: it is fetched only under a data address a
registered storage instance announced, and never more than the limit is read, whatever
the answer claims.
"""

from __future__ import annotations

import aiohttp
import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.storage.v1.contract import data_origin
from ocisd.api.thumbnails.v1.contract import REASON_BAD_IMAGE
from ocisd.bus.registry import Registry
from ocisd.rpc.client import RpcClients

from .refusal import Refused


class Changed(Exception):
    """The file got a new revision between Stat and download: stat again."""


class Sources:
    def __init__(self, rpc: RpcClients, registry: Registry, metrics: CollectorRegistry) -> None:
        self._gateway = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._registry = registry
        self._http: aiohttp.ClientSession | None = None
        self.downloads = Counter(
            "thumbnails_source_downloads",
            "Source files fetched for rendering, by outcome.",
            ["outcome"],
            registry=metrics,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def fetch(self, ref: pb.Reference, info: pb.ResourceInfo, limit: int, first: int = 0) -> bytes:
        """The bytes of the revision `info` describes (only the `first` ones when > 0), at most `limit`."""
        try:
            reply = await self._gateway.InitiateFileDownload(pb.InitiateFileDownloadRequest(ref=ref))
        except grpc.aio.AioRpcError as exc:
            self.downloads.labels("refused").inc()
            raise Refused.passed_on(exc) from None
        url = reply.download_url
        await self._check_origin(url)
        headers = {"If-Match": f'"{info.etag}"'}
        if first > 0:
            headers["Range"] = f"bytes=0-{first - 1}"
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        try:
            async with self._http.get(url, headers=headers) as resp:
                if resp.status == 412:
                    self.downloads.labels("changed").inc()
                    raise Changed
                if resp.status == 404:
                    raise Refused(grpc.StatusCode.NOT_FOUND, "not-found", "the file is gone")
                if resp.status not in (200, 206):
                    raise Refused(grpc.StatusCode.UNAVAILABLE, "storage", f"data server answered {resp.status}")
                body = bytearray()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > limit:
                        raise Refused(
                            grpc.StatusCode.FAILED_PRECONDITION, REASON_BAD_IMAGE, f"the file exceeds {limit} bytes"
                        )
        except aiohttp.ClientError as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, "storage", f"data server unreachable: {exc}") from None
        self.downloads.labels("ok").inc()
        return bytes(body)

    async def _check_origin(self, url: str) -> None:
        """UNAVAILABLE unless `url` lies under a ready storage instance's announced data address."""
        if await data_origin(self._registry, url) is None:
            raise Refused(grpc.StatusCode.UNAVAILABLE, "storage", "data URL outside every announced data address")
