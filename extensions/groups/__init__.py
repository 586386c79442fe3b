"""groups: groups and memberships behind the Groups gRPC API."""

from __future__ import annotations

import asyncio

from ocisd import sessions
from ocisd.api.identity.v1 import groups_pb2_grpc
from ocisd.bus.messages import Message
from ocisd.config.loader import EffectiveConfig
from ocisd.directory.sql import migrate_postgres
from ocisd.directory.worker import Worker
from ocisd.extension import Context, Extension

from . import backends
from .backends.sql import TABLES
from .config import GroupsConfig
from .directory import GroupDirectory
from .grpc import GroupsService


class Groups(Extension):
    name = "groups"
    summary = "groups and memberships (gRPC ocisd.identity.v1.Groups)"
    config = GroupsConfig

    @classmethod
    def check(cls, config: GroupsConfig) -> None:
        backends.check(config)

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str]:
        return migrate_postgres(cfg, TABLES)

    def __init__(self) -> None:
        self._worker: Worker[backends.Base] | None = None

    async def start(self, ctx: Context) -> None:
        worker = self._worker = await Worker.open(
            "groups-db", backends.load, ctx.config, ctx.data_dir, ctx.shared.postgres_dsn
        )
        directory = GroupDirectory(worker)
        deleted: asyncio.Queue[str] = asyncio.Queue()

        def on_user_changed(msg: Message) -> None:
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            if (
                self._worker is worker
                and msg.data.get("change") == "deleted"
                and isinstance(msg.data.get("user_id"), str)
            ):
                deleted.put_nowait(msg.data["user_id"])

        async def forget_deleted() -> None:
            while True:
                user_id = await deleted.get()
                try:
                    await directory.forget_user(user_id)
                except Exception as exc:  # noqa: BLE001 - the backend is away: the memberships stay, harmless
                    ctx.log.warning("cannot drop a deleted user's memberships", user_id=user_id, error=str(exc))

        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)
        ctx.create_task(forget_deleted(), "users-deleted")

        def groups_changed(user_id: str) -> None:
            ctx.bus.publish_event(sessions.USERS_CHANGED, {"user_id": user_id, "change": "groups"})

        service = GroupsService(directory, ctx.shared, groups_changed)
        await ctx.serve_grpc(lambda server: groups_pb2_grpc.add_GroupsServicer_to_server(service, server))

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
