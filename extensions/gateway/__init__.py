"""gateway: the one gRPC front HTTP-facing extensions call; routes each space to its storage provider."""

from __future__ import annotations

from ocisd.api.sharing.v1 import mounts
from ocisd.extension import Context, Extension

from .config import GatewayConfig
from .grpc import Forwarder
from .providers import Providers
from .shares import SharesFolders


class Gateway(Extension):
    name = "gateway"
    summary = "storage API front: authenticates the internal token, routes spaces to storage providers"
    config = GatewayConfig

    async def start(self, ctx: Context) -> None:
        wait = float(ctx.shared.grpc_no_instance_wait)
        providers = Providers(ctx.registry, ctx.rpc, list(ctx.config.storage_providers), wait)
        shares = SharesFolders(ctx.rpc, ctx.log, ctx.config.shares_provider)
        # A stale handler after a restart only forgets cached "nothing mounted" answers: harmless.
        ctx.bus.subscribe(f"event.{mounts.EVENT_PREFIX}", shares.on_share_event)
        await ctx.serve_grpc(Forwarder(providers, ctx.rpc, shares, ctx.config.shares_provider).register)
