"""Which storage provider instance holds a space, from the registry.

Every live instance of a configured provider extension is asked once for its
`GetProviderInfo` (cached per instance id). A personal space goes to the
instance whose home range contains the first sha1 byte of the space id, or
that names the space among its fixed spaces.
"""

from __future__ import annotations

import grpc
import grpc.aio

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import shard
from ocisd.bus.registry import InstanceRecord, Registry
from ocisd.rpc.client import CHANNEL_OPTIONS

INFO_TIMEOUT = 5.0
MAX_ROUTES = 4096


class NoProvider(Exception):
    pass


class Providers:
    def __init__(self, registry: Registry, names: list[str]) -> None:
        self._registry = registry
        self._names = names
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._infos: dict[str, tuple[str, pb.GetProviderInfoResponse]] = {}
        # space id -> (address, in this process): every call asks; valid until the registry changes.
        self._routes: dict[str, tuple[str, bool]] = {}
        registry.listen(self._forget)

    def _forget(self, change: str, record: InstanceRecord) -> None:
        self._routes.clear()

    def channel(self, addr: str) -> grpc.aio.Channel:
        ch = self._channels.get(addr)
        if ch is None:
            ch = self._channels[addr] = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
        return ch

    async def _info(self, instance: str, addr: str) -> pb.GetProviderInfoResponse | None:
        cached = self._infos.get(instance)
        if cached is not None and cached[0] == addr:
            return cached[1]
        try:
            info = await pb_grpc.ProviderStub(self.channel(addr)).GetProviderInfo(
                pb.GetProviderInfoRequest(), timeout=INFO_TIMEOUT
            )
        except grpc.aio.AioRpcError:
            return None
        self._infos[instance] = (addr, info)
        return info

    async def address(self, space_id: str) -> tuple[str, bool]:
        """The gRPC address of the instance holding `space_id`, and whether it runs in this process."""
        route = self._routes.get(space_id)
        if route is not None:
            return route
        key = shard(space_id)
        live: set[str] = set()
        for name in self._names:
            for entry in self._registry.entries(name):
                rec = entry.record
                addr = rec.addresses.get("grpc")
                if addr is None or rec.health != "ready":
                    continue
                live.add(rec.instance)
                info = await self._info(rec.instance, addr)
                if info is None:
                    continue
                if space_id in info.space_ids or info.home_range_start <= key <= info.home_range_end:
                    if len(self._routes) >= MAX_ROUTES:
                        self._routes.clear()
                    route = self._routes[space_id] = (addr, entry.local)
                    return route
        for gone in set(self._infos) - live:
            del self._infos[gone]
        raise NoProvider(f"no live storage provider holds space {space_id!r}")

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()
