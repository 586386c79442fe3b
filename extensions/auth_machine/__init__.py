"""auth-machine: internal services holding OCIS_MACHINE_AUTH_API_KEY act as a given user."""

from __future__ import annotations

from ocisd import sessions
from ocisd.api.identity.v1 import auth_pb2_grpc
from ocisd.extension import Context, Extension

from .config import AuthMachineConfig
from .grpc import AuthMachineService


class AuthMachine(Extension):
    name = "auth-machine"
    summary = "machine authentication: act as a user with the shared machine_auth_api_key"
    config = AuthMachineConfig
    depends = ("users", "groups")

    async def start(self, ctx: Context) -> None:
        service = AuthMachineService(sessions.Issuer(ctx.rpc, ctx.shared), ctx.shared.machine_auth_api_key, ctx.log)
        await ctx.serve_grpc(lambda server: auth_pb2_grpc.add_AuthMachineServicer_to_server(service, server))
