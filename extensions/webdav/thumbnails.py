"""Thumbnails.GetThumbnail as the caller, its errors as HTTP statuses, and the bytes of a large preview.

A thumbnail over the inline limit comes as a `data_url` on a thumbnails
instance's HTTP server. The URL is someone's answer, so it is fetched only when
its host:port is the `http` address a ready thumbnails instance announced on
the bus: a forged answer cannot aim webdav at another port of this host.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
import grpc
import grpc.aio

from ocisd.api.postprocessing.v1.contract import REASON_PROCESSING, RETRY_AFTER_SECONDS
from ocisd.api.storage.v1.contract import REASON_METADATA
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.api.thumbnails.v1 import thumbnails_pb2_grpc
from ocisd.bus.registry import Registry
from ocisd.rpc.client import RpcClients

from .errors import PreviewError

THUMBNAILS = "thumbnails"
# (code, reason) -> HTTP status; a reason of None matches any reason of that code.
STATUS: dict[tuple[grpc.StatusCode, str | None], int] = {
    (grpc.StatusCode.NOT_FOUND, None): 404,
    (grpc.StatusCode.FAILED_PRECONDITION, REASON_PROCESSING): 425,
    (grpc.StatusCode.FAILED_PRECONDITION, None): 404,  # blocked, bad-image, not-a-file: no preview
    (grpc.StatusCode.UNIMPLEMENTED, None): 404,  # unsupported-type
    (grpc.StatusCode.INVALID_ARGUMENT, None): 400,
    (grpc.StatusCode.PERMISSION_DENIED, None): 403,
    (grpc.StatusCode.UNAUTHENTICATED, None): 401,
    (grpc.StatusCode.UNAVAILABLE, None): 503,
    (grpc.StatusCode.DEADLINE_EXCEEDED, None): 503,
}
EXTRA_HEADERS = {
    425: {"Retry-After": str(RETRY_AFTER_SECONDS)},
    401: {"WWW-Authenticate": 'Basic realm="ocisd", charset="UTF-8"'},
    503: {"Retry-After": str(RETRY_AFTER_SECONDS)},
}


def _error(exc: grpc.aio.AioRpcError) -> PreviewError:
    reason = str(dict(exc.trailing_metadata() or ()).get(REASON_METADATA, "") or "")
    code = exc.code()
    status = STATUS.get((code, reason)) or STATUS.get((code, None)) or 502
    message = exc.details() or reason or code.name
    return PreviewError(
        status, message if status != 502 else f"thumbnails failed: {message}", EXTRA_HEADERS.get(status)
    )


def on_address(url: str, announced: Iterable[str]) -> bool:
    """Whether `url` is a plain-HTTP URL on one of the `announced` host:port addresses."""
    parts = urlsplit(url)
    return parts.scheme == "http" and bool(parts.netloc) and parts.netloc in set(announced)


class Thumbnails:
    def __init__(self, rpc: RpcClients, registry: Registry, http: aiohttp.ClientSession) -> None:
        self._stub = rpc.stub(THUMBNAILS, thumbnails_pb2_grpc.ThumbnailsStub)
        self._registry = registry
        self._http = http

    async def get(self, request: tpb.GetThumbnailRequest) -> tpb.GetThumbnailResponse:
        try:
            reply: tpb.GetThumbnailResponse = await self._stub.GetThumbnail(request)
        except grpc.aio.AioRpcError as exc:
            raise _error(exc) from None
        return reply

    async def open(self, url: str) -> aiohttp.ClientResponse:
        """The GET answer of a `data_url` (its signature is its authority; the caller reads and releases it)."""
        if not on_address(url, (rec.addresses.get("http", "") for rec in self._registry.healthy(THUMBNAILS))):
            raise PreviewError(502, "thumbnails answered with a URL outside its announced address")
        try:
            answer = await self._http.get(url, allow_redirects=False)
        except aiohttp.ClientError as exc:
            raise PreviewError(503, f"thumbnails data server unreachable: {exc}") from None
        if answer.status != 200:
            answer.release()
            raise PreviewError(404 if answer.status == 404 else 502, f"thumbnails data server answered {answer.status}")
        return answer
