"""users: accounts, argon2id passwords and personal app tokens behind the Users gRPC API."""

from __future__ import annotations

from ocisd import sessions
from ocisd.api.identity.v1 import users_pb2_grpc
from ocisd.config.loader import EffectiveConfig
from ocisd.directory.sql import migrate_postgres
from ocisd.directory.worker import Worker
from ocisd.extension import Context, Extension

from . import backends
from .accounts import Accounts
from .backends.sql import TABLES
from .config import UsersConfig
from .grpc import UsersService
from .passwords import Passwords


class Users(Extension):
    name = "users"
    summary = "user accounts, argon2id passwords and app tokens (gRPC ocisd.identity.v1.Users)"
    config = UsersConfig

    @classmethod
    def check(cls, config: UsersConfig) -> None:
        backends.check(config)

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str]:
        return migrate_postgres(cfg, TABLES)

    def __init__(self) -> None:
        self._worker: Worker[backends.Base] | None = None

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        self._worker = await Worker.open("users-db", backends.load, cfg, ctx.data_dir, ctx.shared.postgres_dsn)
        passwords = Passwords(cfg.argon2_time_cost, cfg.argon2_memory_cost, cfg.argon2_parallelism)

        def changed(user_id: str, change: str) -> None:
            ctx.bus.publish_event(sessions.USERS_CHANGED, {"user_id": user_id, "change": change})

        accounts = Accounts(self._worker, passwords, changed)
        outcome = await accounts.ensure_admin(ctx.shared.admin_user_id, ctx.shared.admin_password)
        ctx.log.info("admin user", outcome=outcome)
        service = UsersService(accounts, ctx.shared)
        await ctx.serve_grpc(lambda server: users_pb2_grpc.add_UsersServicer_to_server(service, server))

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
