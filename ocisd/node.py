"""What one process shares among the extensions it runs: bus, registry, calls, core metrics."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web
from prometheus_client import CollectorRegistry

from ocisd.bus.client import BusClient
from ocisd.bus.registry import Registry
from ocisd.config.shared import SharedConfig
from ocisd.rpc.client import RpcClients


class Node:
    def __init__(self, shared: SharedConfig) -> None:
        self.shared = shared
        self.host = socket.gethostname()
        self.metrics = CollectorRegistry()
        self.registry = Registry(shared.heartbeat_interval, self.metrics)
        self.bus = BusClient(shared, self.metrics)
        self.rpc = RpcClients(self.registry, shared.grpc_deadline, self.metrics)
        self._expiry: asyncio.Task[None] | None = None
        # HTTP apps served in this process by announced address, so the proxy can hand a request
        # to a local extension without a socket (the fast path inside one runtime).
        self.local_http: dict[str, web.Application] = {}

    async def start(self) -> None:
        for kind in ("announce.", "heartbeat.", "bye."):
            self.bus.subscribe(kind, self.registry.handle)
        self.bus.start()
        self._expiry = asyncio.get_running_loop().create_task(self.registry.run_expiry())

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            await asyncio.gather(self._expiry, return_exceptions=True)
        await self.rpc.close()
        await self.bus.close()
