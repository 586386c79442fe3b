"""Which storage provider instance holds a space, from the registry.

Every live instance of a configured provider extension is asked once for its
`GetProviderInfo` (cached per instance id), through the rpc client factory. A
personal space goes to the instances whose home range contains the first sha1
byte of the space id, or that name the space among their fixed spaces; a project
space's id is routed the same way (its shard picks the provider at creation).
"""

from __future__ import annotations

import time

import grpc.aio

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import shard
from ocisd.bus.registry import InstanceRecord, Registry
from ocisd.rpc.client import RpcClients, Target

INFO_TIMEOUT = 5.0
MAX_ROUTES = 4096
RETRY_PAUSE = 0.1  # between looks at the registry while no provider holds a space and it says nothing new


class NoProvider(Exception):
    pass


class Providers:
    def __init__(self, registry: Registry, rpc: RpcClients, names: list[str], wait: float = 0.0) -> None:
        """`wait`: how long a space no live provider holds waits for one (a provider restarting)."""
        self._registry = registry
        self.wait = wait
        self._rpc = rpc
        self._names = names
        self._infos: dict[str, tuple[str, pb.GetProviderInfoResponse]] = {}
        # space id -> (provider extension, its instances holding the space): every call asks;
        # valid until the registry changes.
        self._routes: dict[str, tuple[str, list[Target]]] = {}
        registry.listen(self._forget)

    def _forget(self, change: str, record: InstanceRecord) -> None:
        self._routes.clear()

    async def _info(self, name: str, instance: str, target: Target) -> pb.GetProviderInfoResponse | None:
        cached = self._infos.get(instance)
        if cached is not None and cached[0] == target[0]:
            return cached[1]
        try:
            request = pb.GetProviderInfoRequest()
            info = await self._rpc.call(
                name, pb_grpc.ProviderStub, "GetProviderInfo", request, timeout=INFO_TIMEOUT, targets=[target]
            )
        except grpc.aio.AioRpcError:
            return None
        self._infos[instance] = (target[0], info)
        return info

    async def one_each(self) -> list[tuple[str, Target]]:
        """One live instance of every provider (distinct provider_id) of every configured extension: what a
        question about all spaces (ListSpaces) asks."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, Target]] = []
        for name in self._names:
            for entry in self._registry.entries(name):
                rec = entry.record
                addr = rec.addresses.get("grpc")
                if addr is None or rec.health != "ready":
                    continue
                info = await self._info(name, rec.instance, (addr, entry.local))
                if info is not None and (name, info.provider_id) not in seen:
                    seen.add((name, info.provider_id))
                    out.append((name, (addr, entry.local)))
        if not out:
            raise NoProvider("no live storage provider")
        return out

    async def route(self, space_id: str, until: float | None = None) -> tuple[str, list[Target]]:
        """The provider extension holding `space_id` and its instances that do (gRPC address, in this process);
        while none does, up to `wait` (or until the monotonic `until`) for one to appear in the registry."""
        until = time.monotonic() + self.wait if until is None else until
        while True:
            changed = self._registry.changed
            try:
                return await self._route_now(space_id)
            except NoProvider:
                if time.monotonic() >= until:
                    raise
            await self._registry.change_or_pause(changed, until, RETRY_PAUSE)

    async def _route_now(self, space_id: str) -> tuple[str, list[Target]]:
        route = self._routes.get(space_id)
        if route is not None:
            return route
        key = shard(space_id)
        live: set[str] = set()
        for name in self._names:
            holding: list[Target] = []
            for entry in self._registry.entries(name):
                rec = entry.record
                addr = rec.addresses.get("grpc")
                if addr is None or rec.health != "ready":
                    continue
                live.add(rec.instance)
                info = await self._info(name, rec.instance, (addr, entry.local))
                if info is None:
                    continue
                if space_id in info.space_ids or info.home_range_start <= key <= info.home_range_end:
                    holding.append((addr, entry.local))
            if holding:
                if len(self._routes) >= MAX_ROUTES:
                    self._routes.clear()
                route = self._routes[space_id] = (name, holding)
                return route
        for gone in set(self._infos) - live:
            del self._infos[gone]
        raise NoProvider(f"no live storage provider holds space {space_id!r}")
