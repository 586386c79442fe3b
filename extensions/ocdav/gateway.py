"""Calls to the gateway's storage API, with its errors turned into WebDAV statuses."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.rpc.client import RpcClients

from .errors import DavError

# (code, reason) -> HTTP status; a reason of None matches any reason of that code.
_STATUS: dict[tuple[grpc.StatusCode, str | None], int] = {
    (grpc.StatusCode.NOT_FOUND, None): 404,
    (grpc.StatusCode.ALREADY_EXISTS, None): 405,
    (grpc.StatusCode.FAILED_PRECONDITION, "etag-mismatch"): 412,
    (grpc.StatusCode.FAILED_PRECONDITION, "if-none-match"): 412,
    (grpc.StatusCode.FAILED_PRECONDITION, "lock-token-mismatch"): 409,
    (grpc.StatusCode.FAILED_PRECONDITION, "disabled"): 403,  # a disabled space, to its managers (others: 404)
    (grpc.StatusCode.FAILED_PRECONDITION, None): 409,
    (grpc.StatusCode.PERMISSION_DENIED, None): 403,
    (grpc.StatusCode.RESOURCE_EXHAUSTED, None): 507,
    (grpc.StatusCode.ABORTED, None): 423,
    (grpc.StatusCode.INVALID_ARGUMENT, "same-path"): 403,
    (grpc.StatusCode.INVALID_ARGUMENT, "into-descendant"): 409,
    (grpc.StatusCode.INVALID_ARGUMENT, None): 400,
    (grpc.StatusCode.UNIMPLEMENTED, "cross-space"): 502,
    (grpc.StatusCode.UNAUTHENTICATED, None): 401,
    (grpc.StatusCode.UNAVAILABLE, None): 503,
    (grpc.StatusCode.DEADLINE_EXCEEDED, None): 503,
}


def reason_of(exc: grpc.aio.AioRpcError) -> str:
    trailing = dict(exc.trailing_metadata() or ())
    reason = trailing.get("ocisd-reason")
    if isinstance(reason, str) and reason:
        return reason
    return (exc.details() or "").split(":", 1)[0].strip()


def to_dav_error(exc: grpc.aio.AioRpcError, overrides: dict[str, int] | None = None) -> DavError:
    """The DavError for a failed call; `overrides` maps a reason to a status for this method."""
    reason = reason_of(exc)
    code = exc.code()
    status = (overrides or {}).get(reason)
    if status is None:
        status = _STATUS.get((code, reason)) or _STATUS.get((code, None)) or 500
    message = exc.details() or reason
    if status == 423:
        return DavError(423, message, "<d:lock-token-submitted/>")
    if status == 401:
        return DavError(401, message, headers={"WWW-Authenticate": 'Basic realm="ocisd", charset="UTF-8"'})
    return DavError(status, message)


class Gateway:
    """`await gw.call("Stat", pb.StatRequest(...))`, raising DavError instead of gRPC errors."""

    def __init__(self, rpc: RpcClients) -> None:
        self._stub = rpc.stub("gateway", storage_pb2_grpc.StorageStub)

    async def call(
        self, method: str, request: Any, overrides: dict[str, int] | None = None, timeout: float | None = None
    ) -> Any:
        try:
            return await getattr(self._stub, method)(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise to_dav_error(exc, overrides) from None

    async def stat(self, ref: pb.Reference) -> pb.ResourceInfo:
        reply = await self.call("Stat", pb.StatRequest(ref=ref))
        return reply.info

    async def try_stat(self, ref: pb.Reference) -> pb.ResourceInfo | None:
        try:
            return await self.stat(ref)
        except DavError as exc:
            if exc.status == 404:
                return None
            raise
