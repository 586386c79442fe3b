"""storage-publiclink: resolves public link tokens, checks password (argon2id, throttled) and expiry."""

from __future__ import annotations

from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.extension import Context, Extension

from .config import StoragePubliclinkConfig
from .grpc import PublicLinksService


class StoragePubliclink(Extension):
    name = "storage-publiclink"
    summary = "public link tokens: password (argon2id, throttled) and expiry, scoped internal tokens"
    config = StoragePubliclinkConfig
    depends = ("sharing",)

    async def start(self, ctx: Context) -> None:
        cfg: StoragePubliclinkConfig = ctx.config
        throttle = cfg.login_throttle(cfg.link_ip_lockout)
        service = PublicLinksService(
            ctx.rpc, ctx.shared.jwt_secret, float(cfg.token_ttl), throttle, ctx.log, ctx.metrics
        )
        await ctx.serve_grpc(lambda server: sharing_pb2_grpc.add_PublicLinksServicer_to_server(service, server))
