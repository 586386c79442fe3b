"""From an authenticated user to what the proxy forwards: groups looked up, internal token minted.

Shared by the auth extensions (basic, bearer, machine), which differ only in
how they check credentials: each asks `users` as the system identity and
hands the user it found to `Issuer.issue`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ocisd import authz, identity
from ocisd.api.identity.v1 import auth_pb2, groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.config.shared import SharedConfig
from ocisd.rpc.client import RpcClients

# Bus event the users extension publishes on every change that may invalidate a cached login:
# {"user_id": ..., "change": "password" | "enabled" | "disabled" | "deleted" | "token-revoked"}.
USERS_CHANGED = "users.changed"


class Issuer:
    def __init__(self, rpc: RpcClients, shared: SharedConfig, ttl: float = identity.DEFAULT_TTL) -> None:
        self.users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self._groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self._shared = shared
        self._ttl = ttl

    @contextmanager
    def as_system(self) -> Iterator[None]:
        """Calls in the block carry the system identity (credentials are checked before anyone is known)."""
        with authz.acting_as(authz.system_token(self._shared)):
            yield

    async def issue(self, user: users_pb2.User) -> auth_pb2.AuthResponse:
        """The AuthResponse for `user`: its group names and a fresh internal token."""
        with self.as_system():
            reply = await self._groups.GroupsOfUser(groups_pb2.GroupsOfUserRequest(user_id=user.id))
        groups = tuple(g.name for g in reply.groups)
        who = identity.Identity(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            groups=groups,
            group_ids=tuple(g.id for g in reply.groups),
        )
        token = identity.mint(self._shared.jwt_secret, who, self._ttl)
        return auth_pb2.AuthResponse(user=user, groups=groups, token=token, expires=time.time() + self._ttl)
