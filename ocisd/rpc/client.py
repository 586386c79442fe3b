"""One client factory for every gRPC call between extensions.

`clients.stub("hello", HelloStub).Greet(request)` resolves `hello` through the
registry, balances round-robin over healthy instances, sets a deadline, sends
the caller's identity and a request id as metadata, and retries UNAVAILABLE
once on another instance. Channels are cached per address and closed when the
last instance at that address leaves the registry.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import grpc
import grpc.aio

from ocisd.bus.messages import InstanceRecord
from ocisd.bus.registry import Registry

# The caller's internal access token and request id travel with a call chain.
ACCESS_TOKEN: ContextVar[str] = ContextVar("ocisd_access_token", default="")
REQUEST_ID: ContextVar[str] = ContextVar("ocisd_request_id", default="")

MAX_IN_FLIGHT = 512
CHANNEL_OPTIONS = [("grpc.enable_retries", 0), ("grpc.keepalive_time_ms", 30_000)]


class NoInstanceError(grpc.aio.AioRpcError):
    """No live instance of the called extension is in the registry."""

    def __init__(self, extension: str) -> None:
        super().__init__(
            grpc.StatusCode.UNAVAILABLE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details=f"no live instance of extension {extension!r}",
        )


class RpcClients:
    def __init__(self, registry: Registry, deadline: float) -> None:
        self._registry = registry
        self._deadline = deadline
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[tuple[str, type], Any] = {}
        self._turns: dict[str, itertools.count[int]] = {}
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        registry.listen(self._on_registry_change)

    def _on_registry_change(self, change: str, record: InstanceRecord) -> None:
        addr = record.addresses.get("grpc")
        if change != "removed" or addr is None:
            return
        still_used = any(e.record.addresses.get("grpc") == addr for e in self._registry.entries())
        channel = self._channels.pop(addr, None) if not still_used else None
        if channel is not None:
            self._stubs = {k: v for k, v in self._stubs.items() if k[0] != addr}
            asyncio.get_running_loop().create_task(channel.close())

    def _stub_at(self, addr: str, stub_cls: type) -> Any:
        stub = self._stubs.get((addr, stub_cls))
        if stub is None:
            ch = self._channels.get(addr)
            if ch is None:
                ch = self._channels[addr] = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
            stub = self._stubs[(addr, stub_cls)] = stub_cls(ch)
        return stub

    def targets(self, extension: str) -> list[str]:
        """gRPC addresses of the healthy instances, rotated for round-robin."""
        addrs = [r.addresses["grpc"] for r in self._registry.healthy(extension) if "grpc" in r.addresses]
        if not addrs:
            return []
        turn = next(self._turns.setdefault(extension, itertools.count()))
        k = turn % len(addrs)
        return addrs[k:] + addrs[:k]

    def stub(self, extension: str, stub_cls: type) -> Stub:
        return Stub(self, extension, stub_cls)

    async def call(
        self,
        extension: str,
        stub_cls: type,
        method: str,
        request: Any,
        timeout: float | None = None,
    ) -> Any:
        metadata = (
            ("x-request-id", REQUEST_ID.get() or uuid.uuid4().hex),
            ("x-access-token", ACCESS_TOKEN.get()),
        )
        async with self._in_flight:
            targets = self.targets(extension)
            if not targets:
                raise NoInstanceError(extension)
            last: grpc.aio.AioRpcError | None = None
            for addr in targets[:2]:
                fn = getattr(self._stub_at(addr, stub_cls), method)
                try:
                    return await fn(request, timeout=timeout or self._deadline, metadata=metadata)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    last = exc
            assert last is not None
            raise last

    async def close(self) -> None:
        channels, self._channels, self._stubs = list(self._channels.values()), {}, {}
        await asyncio.gather(*(ch.close() for ch in channels), return_exceptions=True)


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
