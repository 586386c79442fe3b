"""What one process shares among the extensions it runs: bus, registry, calls, core metrics."""

from __future__ import annotations

import asyncio
import socket

from prometheus_client import CollectorRegistry

from ocisd.bus.client import BusClient
from ocisd.bus.registry import Registry
from ocisd.config.shared import SharedConfig
from ocisd.local_http import LocalHttp
from ocisd.logs import get_logger
from ocisd.rpc.client import RpcClients


class Node:
    def __init__(self, shared: SharedConfig) -> None:
        self.shared = shared
        self.host = socket.gethostname()
        self.metrics = CollectorRegistry()
        self.registry = Registry(shared.heartbeat_interval, self.metrics)
        self.bus = BusClient(shared, self.metrics, heard=self.registry.heard)
        self.rpc = RpcClients(self.registry, shared.grpc_deadline, self.metrics, shared.grpc_no_instance_wait)
        self.rpc.local_hop = shared.local_hop
        self._expiry: asyncio.Task[None] | None = None
        self._log = get_logger("node.bus")
        # HTTP apps served in this process, for the in-process hop (the fast path inside one runtime).
        self.local_http = LocalHttp(shared.local_hop)

    async def start(self, snapshot: bool = False) -> None:
        """Connect to the bus; with `snapshot`, fill the registry from the broker's records before
        returning (at most one heartbeat interval), so the first call after start finds its callee."""
        for kind in ("announce.", "heartbeat.", "bye."):
            self.bus.subscribe(kind, self.registry.handle)
        self.bus.start()
        self._expiry = asyncio.get_running_loop().create_task(self.registry.run_expiry())
        if snapshot and not await self.bus.snapshot(self.registry.handle, self.shared.heartbeat_interval):
            self._log.info("no registry snapshot from the broker: waiting for heartbeats")

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            await asyncio.gather(self._expiry, return_exceptions=True)
        await self.rpc.close()
        await self.bus.close()
