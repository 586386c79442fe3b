"""One client factory for every gRPC call between extensions.

`clients.stub("hello", HelloStub).Greet(request)` resolves `hello` through the
registry, balances round-robin over healthy instances, sets a deadline, sends
the caller's identity and a request id as metadata, and retries UNAVAILABLE
once on another instance. A refused connection is direct evidence for the
registry: while the bus is silent, the remote instance there is dropped.
A callee with no live instance, or whose instances
refuse connections (a crash, a restart), is a pause and not an error: the call
waits up to `OCIS_GRPC_NO_INSTANCE_WAIT` (within its deadline) for one to
appear or answer. An instance draining before its stop (`bye`) is chosen only
while no other is ready, which happens only inside its own process. Channels are cached per address and closed when the
last instance at that address leaves the registry. A callee in this very
process is called without a channel (`ocisd.rpc.local`), with the same semantics,
unless `OCIS_LOCAL_HOP` is off. Concurrency is bounded per callee: a burst
waits for a slot instead of overrunning the channels, and a callee that calls
on (the gateway forwarding to storage) never waits for slots its callers hold.
`call_raw` is for a caller that forwards messages unparsed (the gateway).
Each extension gets the process's factory `for_extension`: its own default
deadline and logger over the shared channels, bounds and metrics.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd import identity
from ocisd.bus.messages import InstanceRecord
from ocisd.bus.registry import Registry
from ocisd.logs import Logger, get_logger
from ocisd.rpc import local
from ocisd.rpc.local import LocalServers, rpc_error

# The caller's internal access token and request id travel with a call chain.
ACCESS_TOKEN: ContextVar[str] = ContextVar("ocisd_access_token", default="")
REQUEST_ID: ContextVar[str] = ContextVar("ocisd_request_id", default="")

MAX_IN_FLIGHT = 512  # calls at once to one callee extension
RETRY_PAUSE = 0.1  # between attempts on refused connections when the registry says nothing new
# Failures where the callee never got the call: safe to repeat whatever the method does.
_REFUSED = ("failed to connect", "connection refused")
# A restarted peer is back on its port within a second; gRPC's default reconnect backoff
# (1 s, growing 1.6x) would keep the channel failing for seconds after that. Capped at 1 s,
# a dead peer costs one refused connect a second. (Not `min_reconnect_backoff_ms`: gRPC
# uses it as the connect timeout, and a busy or frozen peer must not fail in 100 ms.)
CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 0),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


Target = tuple[str, bool]  # (gRPC address, runs in this process)


def _raw(data: bytes) -> bytes:
    return data


class NoInstanceError(grpc.aio.AioRpcError):
    """No live instance of the called extension is in the registry."""

    def __init__(self, extension: str) -> None:
        super().__init__(
            grpc.StatusCode.UNAVAILABLE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details=f"no live instance of extension {extension!r}",
        )


def refused(exc: grpc.aio.AioRpcError) -> bool:
    """Was the call refused before the callee got it (safe to repeat whatever the method does)?"""
    details = (exc.details() or "").lower()
    return exc.code() == grpc.StatusCode.UNAVAILABLE and any(text in details for text in _REFUSED)


class RpcClients:
    def __init__(
        self, registry: Registry, deadline: float, metrics: CollectorRegistry | None = None, no_instance_wait: float = 0
    ) -> None:
        self._registry = registry
        self._deadline = deadline
        self._no_instance_wait = no_instance_wait
        self._log = get_logger("rpc.client")
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[tuple[str, type | str], Any] = {}  # (address, stub class or raw method path)
        self._turns: dict[str, itertools.count[int]] = {}
        self._healthy: dict[str, list[Target]] = {}  # per extension, until the registry changes
        self._in_flight: dict[str, asyncio.Semaphore] = {}  # per callee
        self._closing: set[asyncio.Task[None]] = set()
        self.local = LocalServers()
        self.local_hop = True  # call servicers of this process directly (ocisd.rpc.local); OCIS_LOCAL_HOP
        self._calls = Counter(
            "ocisd_rpc_client_calls",
            "gRPC calls made through the client factory, by callee, status and path (local or remote).",
            ["extension", "code", "path"],
            registry=metrics,
        )
        registry.listen(self._on_registry_change)

    def _on_registry_change(self, change: str, record: InstanceRecord) -> None:
        self._healthy.pop(record.name, None)
        addr = record.addresses.get("grpc")
        if change != "removed" or addr is None:
            return
        still_used = any(e.record.addresses.get("grpc") == addr for e in self._registry.entries())
        channel = self._channels.pop(addr, None) if not still_used else None
        if channel is not None:
            for key in [k for k in self._stubs if k[0] == addr]:
                del self._stubs[key]
            # Calls still in flight there get their deadline to finish instead of CANCELLED.
            task = asyncio.get_running_loop().create_task(channel.close(grace=self._deadline))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _channel(self, addr: str) -> grpc.aio.Channel:
        ch = self._channels.get(addr)
        if ch is None:
            # Lazy: no connection is made until a call goes through the channel.
            ch = self._channels[addr] = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
        return ch

    def _method_at(self, addr: str, stub_cls: type, method: str) -> Any:
        stub = self._stubs.get((addr, stub_cls))
        if stub is None:
            stub = self._stubs[(addr, stub_cls)] = stub_cls(self._channel(addr))
        return getattr(stub, method)

    def _raw_at(self, addr: str, path: str) -> Any:
        fn = self._stubs.get((addr, path))
        if fn is None:
            fn = self._stubs[(addr, path)] = self._channel(addr).unary_unary(
                path, request_serializer=_raw, response_deserializer=_raw
            )
        return fn

    def targets(self, extension: str) -> list[Target]:
        """(gRPC address, runs in this process) of the healthy instances, rotated for round-robin."""
        found = self._healthy.get(extension)
        if found is None:
            serving = [e for e in self._registry.entries(extension) if "grpc" in e.record.addresses]
            # A draining instance (only ever in its own process's registry) while no other is ready.
            chosen = [e for e in serving if e.record.health == "ready"] or [
                e for e in serving if e.record.health == "stopping"
            ]
            found = self._healthy[extension] = [(e.record.addresses["grpc"], e.local) for e in chosen]
        if not found:
            return []
        turn = next(self._turns.setdefault(extension, itertools.count()))
        k = turn % len(found)
        return found[k:] + found[:k]

    def for_extension(self, deadline: float, no_instance_wait: float, log: Logger) -> RpcClients:
        """This factory as one extension uses it: its own default deadline and wait for an instance,
        failed calls on its logger."""
        view = copy.copy(self)  # shares every container and counter: they are only ever changed in place
        view._deadline, view._no_instance_wait, view._log = deadline, no_instance_wait, log
        return view

    def stub(self, extension: str, stub_cls: type) -> Stub:
        return Stub(self, extension, stub_cls)

    async def call(
        self,
        extension: str,
        stub_cls: type,
        method: str,
        request: Any,
        timeout: float | None = None,
        targets: list[Target] | None = None,
    ) -> Any:
        """Call `method` on a healthy instance of `extension`; one deadline covers queueing and the retry.

        `targets` replaces the registry's round-robin choice (e.g. the instances holding a space).
        """
        return await self._call(
            extension, lambda addr: self._method_at(addr, stub_cls, method), request, timeout, targets
        )

    async def call_raw(
        self,
        extension: str,
        path: str,
        request: bytes,
        *,
        timeout: float | None = None,
        targets: list[Target] | None = None,
    ) -> bytes:
        """`call` with the request already serialized and the reply left serialized: `path` is
        the full method name ("/package.Service/Method"). An error status, its details and
        trailing metadata arrive as the callee sent them."""
        result: bytes = await self._call(extension, lambda addr: self._raw_at(addr, path), request, timeout, targets)
        return result

    async def _call(
        self,
        extension: str,
        method_at: Callable[[str], Any],
        request: Any,
        timeout: float | None,
        targets: list[Target] | None,
    ) -> Any:
        now = time.monotonic()
        deadline = now + (self._deadline if timeout is None else timeout)
        # Given `targets`, the caller chose: nothing to wait for in the registry.
        patience = now if targets is not None else min(deadline, now + self._no_instance_wait)
        metadata = [("x-request-id", REQUEST_ID.get() or uuid.uuid4().hex)]
        if token := ACCESS_TOKEN.get():
            metadata.append((identity.GRPC_METADATA, token))
        slots = self._in_flight.get(extension)
        if slots is None:
            slots = self._in_flight[extension] = asyncio.Semaphore(MAX_IN_FLIGHT)
        async with slots:
            while True:
                changed = self._registry.changed  # taken before looking, so a change meanwhile is not missed
                chosen = (self.targets(extension) if targets is None else targets)[:2]
                if chosen:
                    try:
                        return await self._on_one_of(extension, chosen, method_at, request, metadata, deadline)
                    except grpc.aio.AioRpcError as exc:
                        if not refused(exc) or time.monotonic() >= patience:
                            raise
                elif time.monotonic() >= patience:
                    self._calls.labels(extension=extension, code="UNAVAILABLE", path="none").inc()
                    raise NoInstanceError(extension)
                await self._registry.change_or_pause(changed, patience, RETRY_PAUSE)

    async def _on_one_of(
        self,
        extension: str,
        chosen: list[Target],
        method_at: Callable[[str], Any],
        request: Any,
        metadata: list[tuple[str, str]],
        deadline: float,
    ) -> Any:
        """The call on the first target; on UNAVAILABLE, on the second."""
        for target in chosen[:-1]:
            try:
                return await self._attempt(extension, target, method_at, request, metadata, deadline)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
        return await self._attempt(extension, chosen[-1], method_at, request, metadata, deadline)

    async def _attempt(
        self,
        extension: str,
        target: Target,
        method_at: Callable[[str], Any],
        request: Any,
        metadata: list[tuple[str, str]],
        deadline: float,
    ) -> Any:
        addr, in_process = target
        fn = method_at(addr)
        method = fn._method.decode()
        here = self.local.find(addr, method) if in_process and self.local_hop else None
        path, code = ("remote" if here is None else "local"), grpc.StatusCode.OK
        began = time.monotonic()
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded calling {extension!r}")
            if here is None:
                return await fn(request, timeout=remaining, metadata=metadata)
            return await local.call(here, request, fn._response_deserializer, metadata, remaining)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            self._log.debug("rpc call failed", callee=extension, method=method, path=path, code=code.name)
            if here is None and refused(exc):
                self._registry.refused(addr, began)
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        finally:
            self._calls.labels(extension=extension, code=code.name, path=path).inc()

    async def close(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        self._stubs.clear()
        await asyncio.gather(*(ch.close() for ch in channels), *self._closing, return_exceptions=True)


class Stub:
    """Calls methods of `stub_cls` on whichever instance of `extension` the factory picks."""

    def __init__(self, clients: RpcClients, extension: str, stub_cls: type) -> None:
        self._clients = clients
        self._extension = extension
        self._stub_cls = stub_cls

    def __getattr__(self, method: str) -> Callable[..., Any]:
        async def invoke(request: Any, timeout: float | None = None) -> Any:
            return await self._clients.call(self._extension, self._stub_cls, method, request, timeout)

        return invoke
