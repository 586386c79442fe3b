"""The Storage service on `/Shares`: the folder itself here, everything below a mount forwarded.

A reference below `/Shares/<mount>` becomes `Reference(node_id=<shared resource>,
path=<rest>)` and goes to the gateway as the caller (the storage checks the
grant); the answer's paths are rewritten back below the mount (`paths.MountView`).
"""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

from ocisd.api.sharing.v1 import mounts
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import abort, caller, home_space_id
from ocisd.rpc.client import RpcClients

from .folder import SharesFolder
from .paths import MountView, split

SERVICE = "ocisd.storage.v1.Storage"
REF_FIELDS = ("ref", "source", "destination")
NO_INFO = ("GetLock", "Search")  # answers without the resource itself: a Stat tells where the mount lies
# At a name where no share is mounted these would create something: 403, not 404.
CREATING = {"CreateContainer", "InitiateUpload", "CreateUploadSession", "Lock", "Copy", "Move"}
# The owner's space as a whole (its trash bin, its quota setting) is never reached through a mount.
WHOLE_SPACE = {"ListTrash", "RestoreTrashItem", "PurgeTrash", "PurgeExpiredTrash", "SetSpaceQuota"}


class SharesStorage:
    def __init__(self, rpc: RpcClients) -> None:
        self._folder = SharesFolder(rpc)
        self._gw = self._folder.gateway

    async def serve(self, method: str, request: Any) -> Any:
        who = caller()
        home = home_space_id(who.user_id)
        places = {f: split(getattr(request, f), home) for f in REF_FIELDS if _has_ref(request, f)}
        if not places or method in WHOLE_SPACE:
            raise errors.forbidden(f"{method} is not served below {mounts.PATH}")
        if all(p == ("", "") for p in places.values()):
            return await self._on_folder(method, request)
        source, target = places.get("source"), places.get("destination")
        if method == "Move" and source and target and source[0] and target[0] and not source[1] and not target[1]:
            return await self._folder.rename(source[0], target[0])
        found = [p for p in places.values() if p is not None and p[0]]
        if len(found) < len(places) or len({mount for mount, _ in found}) > 1:
            raise errors.StorageError(errors.Kind.UNSUPPORTED, "cross-space", "across the /Shares mount boundary")
        mount = found[0][0]
        share = (await self._folder.accepted()).get(mount)
        if share is None:
            if method in CREATING:
                raise errors.forbidden("only accepted shares are mounted in /Shares")
            raise errors.not_found(f"no share is mounted at {mounts.PATH}/{mount}")
        rests = {f: p[1] for f, p in places.items() if p is not None}
        if method == "Delete" and rests["ref"] == "":
            return await self._folder.decline(share)
        if method in ("Move", "Copy") and "" in rests.values():
            raise errors.forbidden("a mount point is only renamed within /Shares")
        for field, rest in rests.items():
            getattr(request, field).CopyFrom(pb.Reference(node_id=share.share.resource_id, path=rest))
        reply = await getattr(self._gw, method)(request)
        primary = rests.get("destination", rests.get("ref", ""))
        view = MountView(mounts.PATH + "/" + mount, self._folder.folder_id())
        if not view.learn(reply, primary) and method in NO_INFO:
            view.learn(await self._gw.Stat(pb.StatRequest(ref=request.ref)), rests["ref"])
        view.rewrite(reply)
        return reply

    async def _on_folder(self, method: str, request: Any) -> Any:
        if method == "Stat":
            return pb.StatResponse(info=await self._folder.info())
        if method == "ListContainer":
            info, entries = await self._folder.listing()
            return pb.ListContainerResponse(info=info, infos=entries)
        if method == "GetLock":
            return pb.GetLockResponse()
        if method == "GetQuota":
            return await self._gw.GetQuota(pb.GetQuotaRequest())
        raise errors.forbidden(f"{mounts.PATH} holds only the shares mounted there")

    def handler(self, method: str, request_cls: Any, reply_cls: Any) -> grpc.RpcMethodHandler:
        async def serve(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await self.serve(method, request)
            except errors.StorageError as exc:
                await abort(context, exc)
            except grpc.aio.AioRpcError as exc:  # the gateway's or the sharing service's answer, passed on
                await context.abort(
                    exc.code(), exc.details() or "", trailing_metadata=tuple(exc.trailing_metadata() or ())
                )
            raise AssertionError("unreachable")

        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=request_cls.FromString, response_serializer=reply_cls.SerializeToString
        )

    def register(self, server: grpc.aio.Server) -> None:
        """Serve every method of the Storage service that takes a reference (registered for in-process callers too)."""
        service = pb.DESCRIPTOR.services_by_name["Storage"]
        handlers = {
            m.name: self.handler(m.name, getattr(pb, m.input_type.name), getattr(pb, m.output_type.name))
            for m in service.methods
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        server.add_registered_method_handlers(SERVICE, handlers)


def _has_ref(request: Any, field: str) -> bool:
    if field not in request.DESCRIPTOR.fields_by_name or not request.HasField(field):
        return False
    ref: pb.Reference = getattr(request, field)
    return bool(ref.path or ref.node_id or ref.space_id)
