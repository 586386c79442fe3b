"""settings: roles, permissions and per-user values (gRPC ocisd.settings.v1.Settings, HTTP /api/v0/settings/)."""

from __future__ import annotations

from typing import Any

from ocisd.api.settings.v1 import settings_pb2_grpc
from ocisd.bus.messages import Message
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .accounts import CHANGED, Accounts
from .config import SettingsConfig
from .grpc import SettingsService
from .http import PREFIX, make_app


class Settings(Extension):
    name = "settings"
    summary = "roles, permissions and per-user values (gRPC ocisd.settings.v1.Settings, /api/v0/settings/)"
    config = SettingsConfig
    routes = (PREFIX,)

    def __init__(self) -> None:
        self._accounts: Accounts | None = None

    @classmethod
    def check(cls, config: Any) -> None:
        if float(config.role_cache_ttl) < 0:
            raise ConfigError("settings role_cache_ttl must not be negative")

    async def start(self, ctx: Context) -> None:
        accounts = self._accounts = Accounts(
            ctx.rpc,
            ctx.shared.jwt_secret,
            ctx.shared.admin_user_id,
            float(ctx.config.role_cache_ttl),
            ctx.bus.publish_event,
            ctx.log,
        )

        def on_changed(msg: Message) -> None:
            account_id = msg.data.get("account_id")
            # Handlers outlive a restart (the bus has no unsubscribe here): only the live instance acts.
            if self._accounts is accounts and isinstance(account_id, str):
                accounts.forget(account_id)

        ctx.bus.subscribe(f"event.{CHANGED}", on_changed)
        service = SettingsService(accounts, ctx.shared.system_user_id)
        await ctx.serve_grpc(lambda s: settings_pb2_grpc.add_SettingsServicer_to_server(service, s))
        await ctx.serve_http(make_app(ctx.rpc))

    async def stop(self) -> None:
        self._accounts = None
