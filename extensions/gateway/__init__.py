"""gateway: the one gRPC front HTTP-facing extensions call; routes each space to its storage provider."""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .config import GatewayConfig
from .grpc import Forwarder
from .providers import Providers


class Gateway(Extension):
    name = "gateway"
    summary = "storage API front: authenticates the internal token, routes spaces to storage providers"
    config = GatewayConfig

    async def start(self, ctx: Context) -> None:
        wait = float(ctx.shared.grpc_no_instance_wait)
        providers = Providers(ctx.registry, ctx.rpc, list(ctx.config.storage_providers), wait)
        await ctx.serve_grpc(Forwarder(providers, ctx.rpc).register)
