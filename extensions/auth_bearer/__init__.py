"""auth-bearer: bearer JWTs of configured issuers (static keys, JWKS URLs) and personal app tokens."""

from __future__ import annotations

from ocisd import sessions
from ocisd.api.identity.v1 import auth_pb2_grpc
from ocisd.extension import Context, Extension

from .config import AuthBearerConfig
from .grpc import AuthBearerService
from .jwts import JwtVerifier
from .keys import KeySet, load_static


class AuthBearer(Extension):
    name = "auth-bearer"
    summary = "Bearer authentication: issuer JWTs (static keys, JWKS) and personal app tokens"
    config = AuthBearerConfig
    depends = ("users", "groups")

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        keys = KeySet(load_static(cfg.static_keys), cfg.jwks_urls, cfg.jwks_refresh, ctx.shared.insecure, ctx.log)
        verifier = JwtVerifier(keys, cfg.issuers, cfg.audiences, cfg.leeway)
        service = AuthBearerService(
            sessions.Issuer(ctx.rpc, ctx.shared), verifier, cfg.username_claim, ctx.log, ctx.metrics
        )
        await ctx.serve_grpc(lambda server: auth_pb2_grpc.add_AuthBearerServicer_to_server(service, server))
