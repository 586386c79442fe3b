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

    providers: Providers | None = None

    async def start(self, ctx: Context) -> None:
        self.providers = Providers(ctx.registry, list(ctx.config.storage_providers))
        forwarder = Forwarder(self.providers, ctx.rpc, float(ctx.shared.grpc_deadline))
        await ctx.serve_grpc(forwarder.register)

    async def stop(self) -> None:
        if self.providers is not None:
            await self.providers.close()
            self.providers = None
