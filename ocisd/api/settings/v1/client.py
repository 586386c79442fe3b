"""What other extensions call on settings: `await permitted(rpc, user_id, DRIVES_CREATE)`."""

from __future__ import annotations

from ocisd.api.settings.v1 import settings_pb2, settings_pb2_grpc
from ocisd.api.settings.v1.contract import PermissionSpec
from ocisd.rpc.client import RpcClients

NAME = "settings"  # the extension serving ocisd.settings.v1.Settings


async def permitted(rpc: RpcClients, user_id: str, permission: PermissionSpec | str) -> bool:
    """Whether `user_id` holds `permission` through its role.

    Asks as the current identity (the user itself, or a service token): a
    settings outage raises the call's AioRpcError (UNAVAILABLE), never a quiet no.
    """
    name = permission if isinstance(permission, str) else permission.name
    request = settings_pb2.CheckPermissionRequest(account_id=user_id, permission=name)
    reply = await rpc.stub(NAME, settings_pb2_grpc.SettingsStub).CheckPermission(request)
    return bool(reply.granted)
