"""groups: groups and memberships behind the Groups gRPC API."""

from __future__ import annotations

from ocisd import sessions
from ocisd.api.identity.v1 import groups_pb2_grpc
from ocisd.bus.messages import Message
from ocisd.extension import Context, Extension

from . import backends
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

    def __init__(self) -> None:
        self._backend: backends.Base | None = None

    async def start(self, ctx: Context) -> None:
        self._backend = backends.load(ctx.config, ctx.data_dir)
        directory = GroupDirectory(self._backend)

        def on_user_changed(msg: Message) -> None:
            # Handlers outlive a restart (the bus has no unsubscribe): only the live instance acts.
            if (
                self._backend is not None
                and msg.data.get("change") == "deleted"
                and isinstance(msg.data.get("user_id"), str)
            ):
                directory.forget_user(msg.data["user_id"])

        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", on_user_changed)

        def groups_changed(user_id: str) -> None:
            ctx.bus.publish_event(sessions.USERS_CHANGED, {"user_id": user_id, "change": "groups"})

        service = GroupsService(directory, ctx.shared, groups_changed)
        await ctx.serve_grpc(lambda server: groups_pb2_grpc.add_GroupsServicer_to_server(service, server))

    async def stop(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
