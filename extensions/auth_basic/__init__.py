"""auth-basic: verifies username and password through `users`, with throttling and a short cache."""

from __future__ import annotations

from ocisd import identity, sessions
from ocisd.api.identity.v1 import auth_pb2_grpc
from ocisd.bus.messages import Message
from ocisd.extension import Context, Extension

from .cache import VerificationCache
from .config import AuthBasicConfig
from .grpc import AuthBasicService


class AuthBasic(Extension):
    name = "auth-basic"
    summary = "Basic authentication (username, password) with throttling and a verification cache"
    config = AuthBasicConfig
    depends = ("users", "groups")

    def __init__(self) -> None:
        self._live = False

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        # A cached login must never hand out an internal token close to expiry.
        cache = VerificationCache(min(float(cfg.cache_ttl), identity.DEFAULT_TTL / 2), cfg.cache_size)
        throttle = cfg.login_throttle(cfg.user_ip_lockout)

        def on_user_changed(msg: Message) -> None:
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            if self._live and isinstance(msg.data.get("user_id"), str):
                cache.forget_user(msg.data["user_id"])

        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)
        self._live = True
        service = AuthBasicService(
            sessions.Issuer(ctx.rpc, ctx.shared),
            cache,
            throttle,
            ctx.log,
            ctx.metrics,
        )
        await ctx.serve_grpc(lambda server: auth_pb2_grpc.add_AuthBasicServicer_to_server(service, server))

    async def stop(self) -> None:
        self._live = False
