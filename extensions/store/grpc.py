"""The Store gRPC service: a thin adapter over `Records`, for service identities only."""

from __future__ import annotations

import math
from typing import NoReturn

import grpc
import grpc.aio

from ocisd import identity
from ocisd.api.store.v1 import store_pb2, store_pb2_grpc
from ocisd.directory.worker import Worker
from ocisd.rpc.errors import Answering

from .records import Record, Records, VersionMismatch

MAX_NAME = 255
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def _message(record: Record, values: bool = True) -> store_pb2.Record:
    return store_pb2.Record(
        namespace=record.namespace,
        key=record.key,
        value=record.value if values else b"",
        expires=math.ceil(record.expires),
        version=record.version,
    )


async def _mismatch(context: grpc.aio.ServicerContext, exc: VersionMismatch) -> None:
    await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))


# A lost version race answers FAILED_PRECONDITION, an unreachable database UNAVAILABLE.
handled = Answering(VersionMismatch, _mismatch)


class StoreService(store_pb2_grpc.StoreServicer):
    def __init__(self, worker: Worker[Records], max_value_size: int) -> None:
        self._records = worker.backend
        self._run = worker.run
        self._max_value = max_value_size

    async def _check(self, context: grpc.aio.ServicerContext, namespace: str, key: str | None = None) -> None:
        """Service identities only; names of 1..255 characters (a List's prefix may be empty)."""
        who = identity.CURRENT.get()
        if who is None or not who.service:
            await _abort(
                context, grpc.StatusCode.PERMISSION_DENIED, "the store serves extensions (service tokens) only"
            )
        names = {"namespace": namespace} if key is None else {"namespace": namespace, "key": key}
        for what, name in names.items():
            if not 0 < len(name) <= MAX_NAME:
                await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"{what} must have 1 to {MAX_NAME} characters")

    @handled
    async def Read(self, request: store_pb2.ReadRequest, context: grpc.aio.ServicerContext) -> store_pb2.Record:
        await self._check(context, request.namespace, request.key)
        record = await self._run(self._records.read, request.namespace, request.key)
        if record is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no record {request.namespace}/{request.key}")
        return _message(record)

    @handled
    async def Write(self, request: store_pb2.WriteRequest, context: grpc.aio.ServicerContext) -> store_pb2.Record:
        await self._check(context, request.namespace, request.key)
        if len(request.value) > self._max_value:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"value of {len(request.value)} bytes is over the limit of {self._max_value}",
            )
        if not math.isfinite(request.ttl_seconds) or request.ttl_seconds < 0:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "ttl_seconds must be 0 (never expires) or positive")
        record = await self._run(
            self._records.write,
            request.namespace,
            request.key,
            request.value,
            request.ttl_seconds,
            request.expect_version,
        )
        return _message(record, values=False)

    @handled
    async def Delete(
        self, request: store_pb2.DeleteRequest, context: grpc.aio.ServicerContext
    ) -> store_pb2.DeleteResponse:
        await self._check(context, request.namespace, request.key)
        return store_pb2.DeleteResponse(deleted=await self._run(self._records.delete, request.namespace, request.key))

    @handled
    async def List(self, request: store_pb2.ListRequest, context: grpc.aio.ServicerContext) -> store_pb2.ListResponse:
        await self._check(context, request.namespace)
        if not 0 <= request.limit <= MAX_LIMIT:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, f"limit must be 0 (= {DEFAULT_LIMIT}) to {MAX_LIMIT}"
            )
        limit = request.limit or DEFAULT_LIMIT
        found, more = await self._run(
            self._records.list, request.namespace, request.prefix, request.after, limit, request.values
        )
        return store_pb2.ListResponse(records=[_message(r, request.values) for r in found], more=more)


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, why: str) -> NoReturn:
    await context.abort(code, why)
    raise AssertionError("abort returned")  # for the type checker: abort always raises
