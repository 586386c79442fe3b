"""idp: an OpenID Connect provider at oCIS's paths (login through auth-basic, code + PKCE, rotated refresh tokens)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from ocisd import client_address, identity, sessions
from ocisd.bus.messages import Message
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .clients import all_clients, configured_clients
from .commands import ROTATE_KEYS, retention
from .config import IdpConfig
from .http import Provider
from .keys import ALGORITHMS, KeyRing
from .login import Csrf
from .store import Store
from .tokens import Minter

KEY_POLL = 1.0  # seconds between checks of the key file (a rotation shows within this)
PURGE_EVERY = 3600.0
REVOKING_CHANGES = ("disabled", "deleted")


class Idp(Extension):
    name = "idp"
    summary = "OpenID Connect provider: login page, authorization code + PKCE, tokens, JWKS"
    config = IdpConfig
    depends = ("users", "auth-basic")
    routes = ("/.well-known/", "/konnect/", "/signin/")
    commands = (ROTATE_KEYS,)

    def __init__(self) -> None:
        self._live = False
        self._store: Store | None = None

    @classmethod
    def check(cls, config: IdpConfig) -> None:
        if config.dynamic_registration:
            raise ConfigError("idp.dynamic_registration: dynamic client registration is not supported")
        if config.signing_alg not in ALGORITHMS:
            raise ConfigError(f"idp.signing_alg: {config.signing_alg!r} is not one of {', '.join(ALGORITHMS)}")
        configured_clients(config.clients)  # refused before start-up when malformed

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        issuer = ctx.shared.url.rstrip("/")
        try:
            keys = KeyRing(ctx.data_dir, cfg.signing_alg, retention(ctx.effective))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        store = self._store = Store(ctx.data_dir / "idp.db")
        # Derived from the shared secret: every idp instance accepts the forms of the others.
        csrf_key = hmac.new(ctx.shared.jwt_secret.encode(), b"idp login form", hashlib.sha256).digest()
        provider = Provider(
            issuer,
            all_clients(issuer, cfg.clients),
            store,
            keys,
            Minter(keys, issuer, float(cfg.access_token_ttl), float(cfg.id_token_ttl)),
            ctx.rpc,
            sessions.Issuer(ctx.rpc, ctx.shared),
            identity.ServiceToken(ctx.shared.jwt_secret, ctx.name),
            client_address.Reader(ctx.shared.jwt_secret),
            Csrf(csrf_key, float(cfg.login_form_ttl)),
            {
                "access": float(cfg.access_token_ttl),
                "refresh": float(cfg.refresh_token_ttl),
                "code": float(cfg.code_ttl),
                "session": float(cfg.session_ttl),
            },
        )

        def on_user_changed(msg: Message) -> None:
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            user_id = msg.data.get("user_id")
            if self._live and isinstance(user_id, str) and msg.data.get("change") in REVOKING_CHANGES:
                revoked = store.revoke_user(user_id)
                ctx.log.info("refresh tokens revoked", user_id=user_id, change=msg.data["change"], count=revoked)

        async def housekeeping() -> None:
            purged_at = 0.0
            while True:
                await asyncio.sleep(KEY_POLL)
                try:
                    if keys.reload():
                        ctx.log.info("signing keys reloaded", kid=keys.signer.kid)
                except (OSError, ValueError) as exc:
                    ctx.log.error("cannot reload signing keys; keeping the current ones", error=str(exc))
                if asyncio.get_running_loop().time() - purged_at > PURGE_EVERY:
                    store.purge_expired()
                    purged_at = asyncio.get_running_loop().time()

        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)
        self._live = True
        ctx.create_task(housekeeping(), "housekeeping")
        await ctx.serve_http(provider.app(), public=self.routes)

    async def stop(self) -> None:
        self._live = False
        if self._store is not None:
            self._store.close()
            self._store = None
