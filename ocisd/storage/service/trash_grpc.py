"""The trash-bin methods of the Storage service (mixed into `grpc.StorageService`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import caller, handled
from ocisd.identity import Identity
from ocisd.storage.driver import Base

from .access import OWNER, Access
from .trash_purge import TrashPurger

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class Servicer(Protocol):
    """What the methods below use of the servicer they are mixed into."""

    _driver: Base
    _privileged: Callable[[Identity], bool]
    _purger: TrashPurger

    async def _ref(self, ref: pb.Reference, need: int = ...) -> Access: ...


class TrashMethods:
    @handled
    async def ListTrash(self: Servicer, request: pb.ListTrashRequest, context: Ctx) -> pb.ListTrashResponse:
        a = await self._ref(request.ref, OWNER)
        reply = pb.ListTrashResponse()
        for item in await self._driver.trash_items(a.ref.space):
            reply.items.add(
                key=item.node.id,
                original_path=item.node.path,
                deleted=int(item.deleted),
                deleted_by=item.deleted_by,
                info=a.info(item.node),
            )
        return reply

    @handled
    async def RestoreTrashItem(
        self: Servicer, request: pb.RestoreTrashItemRequest, context: Ctx
    ) -> pb.ResourceResponse:
        a = await self._ref(request.ref, OWNER)
        dst = await self._ref(request.destination, OWNER)
        if not request.key:
            raise errors.invalid("bad-key", "key names no trash item")
        node = await self._driver.restore_trash(a.ref.space, request.key, dst.ref, tuple(request.lock_tokens))
        return pb.ResourceResponse(info=a.info(node))

    @handled
    async def PurgeTrash(self: Servicer, request: pb.PurgeTrashRequest, context: Ctx) -> pb.PurgeTrashResponse:
        a = await self._ref(request.ref, OWNER)
        return pb.PurgeTrashResponse(purged=await self._driver.purge_trash(a.ref.space, request.key))

    @handled
    async def PurgeExpiredTrash(
        self: Servicer, request: pb.PurgeExpiredTrashRequest, context: Ctx
    ) -> pb.PurgeTrashResponse:
        if not self._privileged(caller()):
            raise errors.forbidden("only the admin purges expired trash")
        return pb.PurgeTrashResponse(purged=await self._purger.purge_expired())
