"""auth-bearer: bearer JWTs of idp and configured issuers (static keys, JWKS URLs) and personal app tokens."""

from __future__ import annotations

from ocisd import sessions
from ocisd.api.identity.v1 import auth_pb2_grpc
from ocisd.extension import Context, Extension

from .config import AuthBearerConfig
from .grpc import AuthBearerService
from .jwts import JwtVerifier, Trusts
from .keys import KeySet, load_static

IDP_JWKS_PATH = "/konnect/v1/jwks.json"
IDP_AUDIENCE = "ocisd"  # idp's access tokens name it; its ID tokens (audience: the client only) do not
IDP_UNKNOWN_KID_REFETCH = 1.0  # idp is ours and near: a rotated key is picked up at once


class AuthBearer(Extension):
    name = "auth-bearer"
    summary = "Bearer authentication: idp and issuer JWTs (static keys, JWKS) and personal app tokens"
    config = AuthBearerConfig
    depends = ("users", "groups")

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        keys = KeySet(load_static(cfg.static_keys), cfg.jwks_urls, cfg.jwks_refresh, ctx.shared.insecure, ctx.log)
        verifiers = [JwtVerifier(keys, cfg.issuers, cfg.audiences, cfg.leeway)]
        if cfg.trust_idp:

            def idp_jwks() -> list[str]:
                records = ctx.registry.healthy("idp")
                return [f"http://{r.addresses['http']}{IDP_JWKS_PATH}" for r in records if "http" in r.addresses]

            idp_keys = KeySet([], idp_jwks, cfg.jwks_refresh, False, ctx.log, IDP_UNKNOWN_KID_REFETCH)
            verifiers.append(JwtVerifier(idp_keys, [ctx.shared.url.rstrip("/")], [IDP_AUDIENCE], cfg.leeway))
        service = AuthBearerService(
            sessions.Issuer(ctx.rpc, ctx.shared), Trusts(verifiers), cfg.username_claim, ctx.log, ctx.metrics
        )
        await ctx.serve_grpc(lambda server: auth_pb2_grpc.add_AuthBearerServicer_to_server(service, server))
