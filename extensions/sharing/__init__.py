"""sharing: user, group and public link shares (gRPC ocisd.sharing.v1.Sharing), enforced by storage grants."""

from __future__ import annotations

import asyncio

from ocisd import authz, sessions
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.sharing.v1.contract import RESOURCES_DELETED
from ocisd.bus.messages import Message
from ocisd.extension import Context, Extension

from . import stores
from .config import SharingConfig
from .grpc import SharingService
from .manager import ShareManager


class Sharing(Extension):
    name = "sharing"
    summary = "user, group and link shares (gRPC ocisd.sharing.v1.Sharing)"
    config = SharingConfig

    @classmethod
    def check(cls, config: SharingConfig) -> None:
        stores.store_class(config)

    def __init__(self) -> None:
        self._store: stores.ShareStore | None = None

    async def start(self, ctx: Context) -> None:
        store = self._store = stores.load(ctx.config, ctx.data_dir)
        manager = ShareManager(store, ctx.rpc, ctx.bus, ctx.shared)
        deleted: asyncio.Queue[list[str]] = asyncio.Queue()

        def on_deleted(msg: Message) -> None:
            ids = msg.data.get("resource_ids")
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            if self._store is store and isinstance(ids, list) and all(isinstance(i, str) for i in ids):
                deleted.put_nowait(ids)
            elif self._store is store:
                ctx.log.warning("malformed bus event ignored", event=RESOURCES_DELETED)

        async def forget_deleted() -> None:
            while True:
                ids = await deleted.get()
                try:
                    with authz.acting_as(authz.system_token(ctx.shared)):
                        await manager.resources_deleted(ids)
                except Exception as exc:  # noqa: BLE001 - the shares are gone; only an announcement failed
                    ctx.log.warning("cannot announce removed shares", error=str(exc))

        def on_user_changed(msg: Message) -> None:
            user_id = msg.data.get("user_id")
            if self._store is store and msg.data.get("change") == "deleted" and isinstance(user_id, str):
                manager.user_deleted(user_id)

        ctx.bus.subscribe(f"event.{RESOURCES_DELETED}", on_deleted)
        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)
        ctx.create_task(forget_deleted(), "resources-deleted")
        service = SharingService(manager)
        await ctx.serve_grpc(lambda server: sharing_pb2_grpc.add_SharingServicer_to_server(service, server))

    async def stop(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
