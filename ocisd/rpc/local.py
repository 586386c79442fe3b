"""The fast path inside one process: a unary call to a servicer in this process skips the channel.

The client factory (`ocisd.rpc.client`) takes it for every callee found here,
unless `OCIS_LOCAL_HOP` is off.

`scripts/bench-rpc` shows why: a loopback gRPC hop costs about half a
millisecond and halves a runtime's call rate, a direct call a few microseconds.
What a gRPC hop guarantees stays true here:
- messages cross through their serializers, so neither side sees the other's objects;
- the servicer runs in its own task with an empty contextvars context, so it
  learns who calls only from the metadata, as it would from another process;
- the deadline cancels the servicer and the caller gets DEADLINE_EXCEEDED;
- `abort`, `set_code`/`set_details` and unexpected exceptions reach the caller as
  `AioRpcError` with the codes and details a remote server would send;
- the servicer's own metrics count the call as usual.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn

import grpc
import grpc.aio

from ocisd.logs import get_logger

_log = get_logger("rpc.local")


class Metadatum(NamedTuple):
    key: str
    value: str | bytes


class _Aborted(Exception):
    """Raised by `LocalContext.abort`; the status is on the context."""


def rpc_error(code: grpc.StatusCode, details: str, trailing: Sequence[tuple[str, Any]] = ()) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details=details)


class LocalContext:
    """The `grpc.aio.ServicerContext` a servicer gets on the fast path."""

    def __init__(self, metadata: Sequence[tuple[str, str | bytes]], deadline: float) -> None:
        self._metadata = tuple(Metadatum(k, v) for k, v in metadata)
        self._deadline = deadline
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: tuple[tuple[str, Any], ...] = ()
        self._callbacks: list[Callable[[Any], None]] = []
        self._done = False
        self._cancelled = False

    def invocation_metadata(self) -> tuple[Metadatum, ...]:
        return self._metadata

    def time_remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def peer(self) -> str:
        return f"local:{os.getpid()}"

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Sequence[tuple[str, Any]] = ()
    ) -> NoReturn:
        # A remote server turns abort(OK) into UNKNOWN too.
        self._code = grpc.StatusCode.UNKNOWN if code == grpc.StatusCode.OK else code
        self._details = details
        if trailing_metadata:
            self._trailing = tuple(trailing_metadata)
        raise _Aborted()

    async def abort_with_status(self, status: Any) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    def set_trailing_metadata(self, trailing_metadata: Sequence[tuple[str, Any]]) -> None:
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._trailing

    async def send_initial_metadata(self, initial_metadata: Sequence[tuple[str, Any]]) -> None:
        """Nothing to send on the fast path: unary callers read only the reply and the status."""

    def set_compression(self, compression: grpc.Compression) -> None:
        """Nothing is compressed in-process."""

    def disable_next_message_compression(self) -> None:
        """Nothing is compressed in-process."""

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def done(self) -> bool:
        return self._done

    def cancelled(self) -> bool:
        return self._cancelled

    def _finish(self, cancelled: bool) -> None:
        self._done, self._cancelled = True, cancelled
        for callback in self._callbacks:
            callback(self)


class _CallDetails(NamedTuple):
    """What server interceptors see of a call (`grpc.HandlerCallDetails`)."""

    method: str
    invocation_metadata: tuple[Metadatum, ...]


Interceptors = Sequence[grpc.aio.ServerInterceptor]


class LocalMethod:
    """A unary method served in this process, reached through its server's interceptors."""

    def __init__(self, path: str, handler: grpc.RpcMethodHandler, interceptors: Interceptors) -> None:
        self.path = path
        self._handler = handler
        self._interceptors = tuple(interceptors)

    async def resolve(self, metadata: tuple[Metadatum, ...]) -> grpc.RpcMethodHandler | None:
        """The handler after every interceptor had its say, in the server's order."""
        details = _CallDetails(self.path, metadata)

        async def at(i: int, _: Any) -> grpc.RpcMethodHandler | None:
            if i == len(self._interceptors):
                return self._handler
            return await self._interceptors[i].intercept_service(lambda d: at(i + 1, d), details)

        return await at(0, details)


class LocalServers:
    """Unary methods of the gRPC servers in this process, by connectable address and method path."""

    def __init__(self) -> None:
        self._methods: dict[str, dict[str, LocalMethod]] = {}

    def recording(self, server: grpc.aio.Server, addr: str, interceptors: Interceptors = ()) -> grpc.aio.Server:
        """Wrap `server` for an extension's `register`: handlers go to it and are remembered for `addr`."""
        methods = self._methods[addr] = {}
        return _RecordingServer(server, methods, interceptors)

    def find(self, addr: str, path: str) -> LocalMethod | None:
        return self._methods.get(addr, {}).get(path)


class _RecordingServer:
    def __init__(self, server: grpc.aio.Server, methods: dict[str, LocalMethod], interceptors: Interceptors) -> None:
        self._server = server
        self._methods = methods
        self._interceptors = interceptors

    def add_registered_method_handlers(self, service: str, method_handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self._server.add_registered_method_handlers(service, method_handlers)
        for name, handler in method_handlers.items():
            if handler.unary_unary is not None:
                path = f"/{service}/{name}"
                self._methods[path] = LocalMethod(path, handler, self._interceptors)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


async def call(
    method: LocalMethod,
    request: Any,
    response_deserializer: Callable[[bytes], Any],
    metadata: Sequence[tuple[str, str]],
    timeout: float,
) -> Any:
    """Run `method` as a remote server would and return a copy of its reply, or raise AioRpcError."""
    ctx = LocalContext(metadata, time.monotonic() + timeout)
    # A caller that already holds the serialized request (the gateway) passes the bytes.
    raw_request = request if isinstance(request, bytes) else request.SerializeToString()

    async def serve() -> tuple[grpc.RpcMethodHandler, Any]:
        handler = await method.resolve(ctx.invocation_metadata())
        if handler is None or handler.unary_unary is None:
            await ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        copy = handler.request_deserializer(raw_request) if handler.request_deserializer else raw_request
        return handler, await handler.unary_unary(copy, ctx)

    loop = asyncio.get_running_loop()
    task = loop.create_task(serve(), context=contextvars.Context())
    # What asyncio.wait(timeout=) does, minus its sets and bookkeeping: one waiter, one timer.
    settled = loop.create_future()

    def settle(_: object = None) -> None:
        if not settled.done():
            settled.set_result(None)

    task.add_done_callback(settle)
    timer = loop.call_at(loop.time() + timeout, settle)
    try:
        await settled
    except asyncio.CancelledError:  # the caller gave up: the servicer is cancelled, as by a remote client
        task.remove_done_callback(settle)
        task.cancel()
        ctx._finish(cancelled=True)
        raise
    finally:
        timer.cancel()
    if not task.done():
        task.remove_done_callback(settle)
        task.cancel()
        ctx._finish(cancelled=True)
        raise rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    ctx._finish(cancelled=task.cancelled())
    if task.cancelled():  # the servicer cancelled itself
        raise rpc_error(grpc.StatusCode.CANCELLED, "Cancelled")
    failure = task.exception()
    if isinstance(failure, _Aborted):
        raise rpc_error(ctx.code() or grpc.StatusCode.UNKNOWN, ctx.details(), ctx.trailing_metadata())
    if failure is not None:
        _log.error("exception calling application", error=f"{type(failure).__name__}: {failure}")
        raise rpc_error(grpc.StatusCode.UNKNOWN, f"Unexpected {type(failure)}: {failure}")
    handler, reply = task.result()
    code = ctx.code()
    if code is not None and code != grpc.StatusCode.OK:
        raise rpc_error(code, ctx.details(), ctx.trailing_metadata())
    try:
        raw = handler.response_serializer(reply) if handler.response_serializer else reply
    except Exception:
        raise rpc_error(grpc.StatusCode.INTERNAL, "Failed to serialize response!") from None
    return response_deserializer(raw)
