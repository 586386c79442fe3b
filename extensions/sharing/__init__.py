"""sharing: user, group and public link shares (gRPC ocisd.sharing.v1.Sharing), enforced by storage grants."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ocisd import authz, sessions
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.sharing.v1.contract import RESOURCES_DELETED
from ocisd.bus.messages import Message
from ocisd.config.loader import EffectiveConfig
from ocisd.directory.sql import migrate_postgres
from ocisd.directory.worker import Worker
from ocisd.extension import Context, Extension

from . import stores
from .config import SharingConfig
from .grpc import SharingService
from .manager import ShareManager
from .stores.sql import TABLES


class Sharing(Extension):
    name = "sharing"
    summary = "user, group and link shares (gRPC ocisd.sharing.v1.Sharing)"
    config = SharingConfig

    @classmethod
    def check(cls, config: SharingConfig) -> None:
        stores.store_class(config)

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str]:
        return migrate_postgres(cfg, TABLES)

    def __init__(self) -> None:
        self._worker: Worker[stores.ShareStore] | None = None

    async def start(self, ctx: Context) -> None:
        dsn = ctx.shared.postgres_dsn
        worker = self._worker = await Worker.open("sharing-db", stores.load, ctx.config, ctx.data_dir, dsn)
        manager = ShareManager(worker, ctx.rpc, ctx.bus, ctx.shared)
        # Bus events become store work done in order off the handler (which must not block).
        work: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()

        def on_deleted(msg: Message) -> None:
            ids = msg.data.get("resource_ids")
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            if self._worker is worker and isinstance(ids, list) and all(isinstance(i, str) for i in ids):
                work.put_nowait(lambda: manager.resources_deleted(ids))
            elif self._worker is worker:
                ctx.log.warning("malformed bus event ignored", event=RESOURCES_DELETED)

        def on_user_changed(msg: Message) -> None:
            user_id = msg.data.get("user_id")
            if self._worker is worker and msg.data.get("change") == "deleted" and isinstance(user_id, str):
                work.put_nowait(lambda: manager.user_deleted(user_id))

        async def do_work() -> None:
            while True:
                job = await work.get()
                try:
                    with authz.acting_as(authz.system_token(ctx.shared)):
                        await job()
                except Exception as exc:  # noqa: BLE001 - a store or announcement failure must not stop the service
                    ctx.log.warning("cannot remove shares after a bus event", error=str(exc))

        ctx.bus.subscribe(f"event.{RESOURCES_DELETED}", on_deleted)
        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)
        ctx.create_task(do_work(), "bus-events")
        service = SharingService(manager)
        await ctx.serve_grpc(lambda server: sharing_pb2_grpc.add_SharingServicer_to_server(service, server))

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
