"""What a PROPFIND shows about sharing beyond the storage's answer: share types and owners' names.

Both are asked only when the properties are requested, once per listed page;
without a sharing or users service (or when it fails) the properties stay empty
rather than failing the listing.
"""

from __future__ import annotations

import asyncio
import time

import grpc.aio

from ocisd.api.identity.v1 import users_pb2, users_pb2_grpc
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc as spb_grpc
from ocisd.rpc.client import RpcClients

NAME_TTL = 300.0  # a renamed owner shows under the new name after this long
MAX_NAMES = 10_000


class Sharing:
    def __init__(self, rpc: RpcClients, public_url: str) -> None:
        self._rpc = rpc
        self.private_links = public_url.rstrip("/") + "/f/"
        self._names: dict[str, tuple[float, str]] = {}  # user id -> (until when, display name)

    async def share_types(self, resource_ids: list[str]) -> dict[str, list[int]]:
        """For each of the resources the caller shared: the share types, in one call."""
        if not resource_ids or not self._rpc.targets("sharing"):
            return {}
        request = spb.ListSharesRequest(resource_ids=resource_ids)
        try:
            reply = await self._rpc.call("sharing", spb_grpc.SharingStub, "ListShares", request)
        except grpc.aio.AioRpcError:
            return {}
        found: dict[str, set[int]] = {}
        for share in reply.shares:
            found.setdefault(share.resource_id, set()).add(share.share_type)
        return {rid: sorted(types) for rid, types in found.items()}

    async def _name(self, user_id: str) -> tuple[str, str]:
        request = users_pb2.GetUserRequest(id=user_id)
        try:
            user = await self._rpc.call("users", users_pb2_grpc.UsersStub, "GetUser", request)
        except grpc.aio.AioRpcError:
            return user_id, ""
        return user_id, user.display_name or user.username

    async def display_names(self, user_ids: set[str]) -> dict[str, str]:
        now = time.monotonic()
        known = {u: self._names[u][1] for u in user_ids if u in self._names and self._names[u][0] > now}
        missing = user_ids - set(known)
        if missing and self._rpc.targets("users"):
            if len(self._names) >= MAX_NAMES:
                self._names.clear()
            for user_id, name in await asyncio.gather(*(self._name(u) for u in missing)):
                if name:
                    self._names[user_id] = (now + NAME_TTL, name)
                    known[user_id] = name
        return known
