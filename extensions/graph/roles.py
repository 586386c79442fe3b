"""Whether the caller holds a settings permission (`Settings.CheckPermission`), and who graph is
when it calls on its own authority after that check. Without an answer from settings nothing
is granted: the request fails with 503.
"""

from __future__ import annotations

from ocisd import authz, identity
from ocisd.api.settings.v1 import contract, settings_pb2, settings_pb2_grpc
from ocisd.config.shared import SharedConfig
from ocisd.rpc.client import RpcClients

from .errors import GraphError, forbidden

NAME = "graph"


def caller() -> identity.Identity:
    who = identity.CURRENT.get()
    if who is None or who.scope is not None:  # a public link's identity reaches no API of accounts
        raise GraphError(401, "unauthenticated", "no user")
    return who


class Authority:
    def __init__(self, rpc: RpcClients, shared: SharedConfig) -> None:
        self._settings = rpc.stub("settings", settings_pb2_grpc.SettingsStub)
        self._shared = shared
        self._service = identity.ServiceToken(shared.jwt_secret, NAME)

    def as_system(self) -> authz.acting_as:
        """For the identity API (users, groups): its admin calls take the system identity."""
        return authz.acting_as(authz.system_token(self._shared))

    def as_service(self) -> authz.acting_as:
        """For the storage's admin-only space RPCs: graph's service identity."""
        return authz.acting_as(self._service.get())

    async def holds(self, who: identity.Identity, permission: contract.PermissionSpec) -> bool:
        request = settings_pb2.CheckPermissionRequest(account_id=who.user_id, permission=permission.name)
        return bool((await self._settings.CheckPermission(request)).granted)

    async def require(self, who: identity.Identity, permission: contract.PermissionSpec) -> None:
        if not await self.holds(who, permission):
            raise forbidden(f"{permission.name} needed")
