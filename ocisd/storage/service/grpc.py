"""The Storage and Provider gRPC services: thin adapters over a storage driver."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.permissions import ALL, CREATE, DELETE, READ, UPDATE
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import PROJECT, caller, external_id, handled, split_id
from ocisd.identity import Identity
from ocisd.storage.driver import Base
from ocisd.storage.resources import Ref, Space, UploadOptions
from ocisd.storage.sessions.upload_sessions import UploadSessions

from .access import ANY, LOOK, OWNER, PUT, Access, check, own_grants
from .grant_grpc import GrantMethods
from .info import add_infos, lock_info, resource_info
from .scan_grpc import ScanMethods
from .session_grpc import SessionMethods
from .space_grpc import SpaceMethods, disabled_error, root_bits
from .spaces import SpacePolicy
from .transfer import Transfers, ref_claims
from .trash_grpc import TrashMethods
from .trash_purge import TrashPurger
from .version_grpc import VersionMethods

DEFAULT_PAGE = 1000
MAX_PAGE = 5000
DEFAULT_SEARCH = 100
MAX_SEARCH = 1000  # a bigger limit is capped: each match costs a path lookup
Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


# Bus event when a delete removed nodes carrying grants (their grants went with them; a purge
# finds none left): {"resource_ids": [...]}.
RESOURCES_DELETED = "resources-deleted"


class StorageService(
    SessionMethods, TrashMethods, VersionMethods, GrantMethods, ScanMethods, SpaceMethods, pb_grpc.StorageServicer
):
    def __init__(
        self,
        driver: Base,
        spaces: SpacePolicy,
        transfers: Transfers,
        sessions: UploadSessions,
        privileged: Callable[[Identity], bool],
        purger: TrashPurger,
        publish: Callable[[str, dict[str, Any]], None],
        provider_id: str = "",
        holds: Callable[[str], bool] = lambda space_id: True,
    ) -> None:
        """`holds`: whether a space id is this instance's (its shard in the home range, or a fixed space)."""
        self._driver = driver
        self._provider_id = provider_id
        self._holds = holds
        self._publish = publish  # bus events
        self._purger = purger
        self._privileged = privileged  # who may set quotas: the admin, extensions
        self._sessions = sessions
        self._spaces = spaces
        self._transfers = transfers
        # Spaces are never re-owned; the space methods drop an entry they change (one process per data dir).
        self._known: dict[str, Space] = {}

    async def _space(self, space_id: str) -> Space | None:
        """The space, or None; a disabled one raises what touching it answers for the caller."""
        space = self._known.get(space_id)
        if space is None:
            space = await self._driver.space(space_id)
            if space is not None:
                self._known[space_id] = space
        if space is not None and space.disabled:
            raise disabled_error(caller(), space, await self._driver.grants_on([space_id]))
        return space

    async def _ref(self, ref: pb.Reference, need: int = READ) -> Access:
        """The driver reference checked for an operation needing `need` (bits, or `access.PUT` …).

        The space owner's own requests pay nothing for it; anyone else reaches nodes by node-id
        reference as far as their grants (or public-link scope) go, and a project space's members
        by space id as well. The caller's home is created on first use, whichever way it is referenced.
        """
        who = caller()
        if who.scope is not None:
            return await self._scoped(ref, who, need)
        home_id, home_owner = self._spaces.home(who)
        if ref.node_id:
            space_id, node = split_id(ref.node_id)
            out = Ref(space=space_id, path=ref.path, node=node)
        else:
            out = Ref(space=ref.space_id or home_id, path=ref.path or "/")
        space = await self._space(out.space)
        if space is None:
            if out.space != home_id:
                raise errors.not_found("no such space")
            await self._driver.ensure_space(home_id, home_owner)
            return Access(out, who, home_owner)
        try:
            self._spaces.check(who, space)
        except errors.StorageError:
            if space.type == PROJECT and not out.node:  # its members may name it by space id too
                out = Ref(space=space.id, path=out.path.lstrip("/"), node=space.id)
            elif not ref.node_id:
                raise
            if need == OWNER and space.type == PROJECT:  # the trash bin: the space's managers'
                need = await self._manager(who, space)
            return check(out, who, space.owner, await self._driver.reach(out), need)
        return Access(out, who, space.owner)

    async def _manager(self, who: Identity, space: Space) -> int:
        """What a project space's managers may do in place of its (missing) owner; ANY for them, NOT_FOUND
        or PERMISSION_DENIED for other callers."""
        held = root_bits(who, space, await self._driver.grants_on([space.id]))
        if held == ALL:
            return ANY
        raise errors.forbidden("only the space's managers do this") if held else errors.not_found("no such space")

    async def _scoped(self, ref: pb.Reference, who: Identity, need: int) -> Access:
        """A public-link identity: its scope resource and below, by node id only; no home, no other space."""
        if not ref.node_id:
            raise errors.not_found("a public link reaches only its own resource")
        space_id, node = split_id(ref.node_id)
        space = await self._space(space_id)
        if space is None:
            raise errors.not_found("no such resource")
        out = Ref(space=space_id, path=ref.path, node=node)
        return check(out, who, space.owner, await self._driver.reach(out), need)

    async def _step_ref(self, ref: pb.Reference) -> Access:
        """A postprocessing step reading a revision it processes: services only, by resource id."""
        who = caller()
        if not who.service:
            raise errors.forbidden("only services read a revision by its name")
        if not ref.node_id:
            raise errors.invalid("bad-reference", "a revision is read by resource id")
        space_id, node = split_id(ref.node_id)
        space = await self._space(space_id)
        if space is None:
            raise errors.not_found("no such space")
        return Access(Ref(space=space_id, path=ref.path, node=node), who, space.owner)

    async def _home_response(self, context: Ctx) -> pb.HomeResponse:
        who = caller()
        if who.scope is not None:
            raise errors.forbidden("a public link has no home")
        space_id, owner = self._spaces.home(who)
        root = await self._driver.ensure_space(space_id, owner)
        return pb.HomeResponse(space_id=space_id, info=resource_info(root, owner))

    @handled
    async def GetHome(self, request: pb.GetHomeRequest, context: Ctx) -> pb.HomeResponse:
        return await self._home_response(context)

    @handled
    async def CreateHome(self, request: pb.CreateHomeRequest, context: Ctx) -> pb.HomeResponse:
        return await self._home_response(context)

    @handled
    async def Stat(self, request: pb.StatRequest, context: Ctx) -> pb.StatResponse:
        a = await self._ref(request.ref, LOOK)
        return pb.StatResponse(info=a.info(await self._driver.stat(a.ref)))

    @handled
    async def ListContainer(self, request: pb.ListContainerRequest, context: Ctx) -> pb.ListContainerResponse:
        a = await self._ref(request.ref, LOOK)
        size = request.page_size or DEFAULT_PAGE
        if not 0 < size <= MAX_PAGE:
            raise errors.invalid("bad-page-size", f"page_size must be 1 to {MAX_PAGE}")
        try:
            after = base64.urlsafe_b64decode(request.page_token.encode()).decode() if request.page_token else ""
        except ValueError:
            raise errors.invalid("bad-page-token", "malformed page token") from None
        if not a.may_read():  # a file drop: the folder, never what is in it
            return pb.ListContainerResponse(info=a.info(await self._driver.stat(a.ref)))
        folder, kids, more = await self._driver.list_folder(a.ref, after, size)
        token = base64.urlsafe_b64encode(kids[-1].name.encode()).decode() if more and kids else ""
        reply = pb.ListContainerResponse(info=a.info(folder), next_page_token=token)
        extra = None
        if a.bits is not None and a.who.scope is None and kids:  # a grant on a child adds to it
            extra = own_grants(a.who, await self._driver.grants_on([kid.id for kid in kids]))
        add_infos(reply.infos, kids, a.owner, a.bits, extra)
        return reply

    @handled
    async def Search(self, request: pb.SearchRequest, context: Ctx) -> pb.SearchResponse:
        a = await self._ref(request.ref)
        if request.offset < 0:
            raise errors.invalid("bad-offset", "offset must not be negative")
        limit = min(request.limit, MAX_SEARCH) if request.limit > 0 else DEFAULT_SEARCH
        found, total = await self._driver.search(a.ref, request.pattern, request.favorites, limit, request.offset)
        reply = pb.SearchResponse(total=total)
        add_infos(reply.infos, found, a.owner, a.bits)
        return reply

    @handled
    async def CreateContainer(self, request: pb.CreateContainerRequest, context: Ctx) -> pb.ResourceResponse:
        a = await self._ref(request.ref, CREATE)
        node = await self._driver.mkdir(a.ref, tuple(request.lock_tokens), request.mtime_ns)
        return pb.ResourceResponse(info=a.info(node))

    @handled
    async def Delete(self, request: pb.DeleteRequest, context: Ctx) -> pb.DeleteResponse:
        a = await self._ref(request.ref, DELETE)
        gone = await self._driver.delete(a.ref, tuple(request.lock_tokens), request.if_match, a.who.user_id)
        if gone:
            self._publish(RESOURCES_DELETED, {"resource_ids": [external_id(a.ref.space, n) for n in gone]})
        return pb.DeleteResponse()

    async def _pair(self, request: Any, source_need: int) -> tuple[Access, Access]:
        return await self._ref(request.source, source_need), await self._ref(request.destination, PUT)

    @handled
    async def Move(self, request: pb.MoveRequest, context: Ctx) -> pb.MoveCopyResponse:
        src, dst = await self._pair(request, DELETE)
        node, replaced = await self._driver.move(
            src.ref, dst.ref, request.overwrite, tuple(request.lock_tokens), request.mtime_ns
        )
        return pb.MoveCopyResponse(info=dst.info(node), overwritten=replaced)

    @handled
    async def Copy(self, request: pb.CopyRequest, context: Ctx) -> pb.MoveCopyResponse:
        src, dst = await self._pair(request, READ)
        node, replaced = await self._driver.copy(
            src.ref,
            dst.ref,
            request.overwrite,
            tuple(request.lock_tokens),
            request.shallow,
            request.mtime_ns,
            dst.who.user_id,
        )
        return pb.MoveCopyResponse(info=dst.info(node), overwritten=replaced)

    @handled
    async def SetArbitraryMetadata(self, request: pb.SetArbitraryMetadataRequest, context: Ctx) -> pb.ResourceResponse:
        a = await self._ref(request.ref, UPDATE)
        node = await self._driver.set_props(a.ref, dict(request.metadata), tuple(request.lock_tokens))
        return pb.ResourceResponse(info=a.info(node))

    @handled
    async def UnsetArbitraryMetadata(
        self, request: pb.UnsetArbitraryMetadataRequest, context: Ctx
    ) -> pb.ResourceResponse:
        a = await self._ref(request.ref, UPDATE)
        node = await self._driver.unset_props(a.ref, list(request.keys), tuple(request.lock_tokens))
        return pb.ResourceResponse(info=a.info(node))

    @handled
    async def Lock(self, request: pb.LockRequest, context: Ctx) -> pb.LockResponse:
        a = await self._ref(request.ref, PUT)  # locking a missing name creates an empty file
        exclusive = request.scope != pb.LOCK_SCOPE_SHARED
        lk, node, created = await self._driver.lock(
            a.ref, exclusive, request.depth_infinity, request.owner, request.timeout_seconds, a.who.user_id
        )
        return pb.LockResponse(lock=lock_info(lk, a.ref.space), info=a.info(node), created=created)

    @handled
    async def RefreshLock(self, request: pb.RefreshLockRequest, context: Ctx) -> pb.LockResponse:
        a = await self._ref(request.ref, UPDATE)
        lk = await self._driver.refresh_lock(a.ref, request.token, request.timeout_seconds)
        return pb.LockResponse(lock=lock_info(lk, a.ref.space), info=a.info(await self._driver.stat(a.ref)))

    @handled
    async def Unlock(self, request: pb.UnlockRequest, context: Ctx) -> pb.UnlockResponse:
        a = await self._ref(request.ref, UPDATE)
        await self._driver.unlock(a.ref, request.token)
        return pb.UnlockResponse()

    @handled
    async def GetLock(self, request: pb.GetLockRequest, context: Ctx) -> pb.GetLockResponse:
        a = await self._ref(request.ref)
        return pb.GetLockResponse(locks=[lock_info(lk, a.ref.space) for lk in await self._driver.locks(a.ref)])

    @handled
    async def InitiateUpload(self, request: pb.InitiateUploadRequest, context: Ctx) -> pb.InitiateUploadResponse:
        a = await self._ref(request.ref, PUT)
        opts = UploadOptions(
            size=request.size if request.size >= 0 else -1,
            checksum=request.checksum,
            if_match=request.if_match,
            if_none_match=request.if_none_match,
            mtime=request.mtime_ns,
            lock_tokens=tuple(request.lock_tokens),
            user=a.who.user_id,
        )
        opts = a.upload_options(opts)
        exists = await self._driver.check_upload(a.ref, opts)
        claims = {"kind": "upload", "user": a.who.user_id, **ref_claims(a.ref), "opts": opts.__dict__}
        url, token, expires = self._transfers.url(claims)
        return pb.InitiateUploadResponse(upload_url=url, token=token, expires=expires, exists=exists)

    @handled
    async def InitiateFileDownload(
        self, request: pb.InitiateFileDownloadRequest, context: Ctx
    ) -> pb.InitiateFileDownloadResponse:
        a = await (self._step_ref(request.ref) if request.revision else self._ref(request.ref))
        # The blob's path stays here: only our data server opens it (and checks the revision again).
        node, _ = await self._driver.download(a.ref, request.revision)
        url, _, expires = self._transfers.url({"kind": "download", **ref_claims(a.ref), "rev": request.revision})
        return pb.InitiateFileDownloadResponse(download_url=url, expires=expires, info=a.info(node))

    @handled
    async def GetQuota(self, request: pb.GetQuotaRequest, context: Ctx) -> pb.GetQuotaResponse:
        if request.ref.space_id and not request.ref.node_id and self._privileged(caller()):
            return await self._quota_of(request.ref.space_id)  # the admin looks at any user's space
        return await self._quota_of((await self._ref(request.ref)).ref.space)

    @handled
    async def SetSpaceQuota(self, request: pb.SetSpaceQuotaRequest, context: Ctx) -> pb.GetQuotaResponse:
        if not self._privileged(caller()):
            raise errors.forbidden("only the admin sets quotas")
        if request.total < 0:
            raise errors.invalid("bad-quota", "total must be 0 (unlimited) or a number of bytes")
        if not request.owner_id:
            raise errors.invalid("bad-owner", "owner_id names no user")
        space_id, owner = self._spaces.home(Identity(user_id=request.owner_id, username=request.owner_id))
        if request.ref.space_id != space_id or request.ref.node_id:
            raise errors.invalid("bad-space", "ref.space_id must be the owner's personal space")
        space = await self._driver.space(space_id)
        if space is not None and space.owner != owner:
            raise errors.forbidden("the space belongs to someone else")
        await self._driver.set_quota(space_id, owner, request.total)
        return await self._quota_of(space_id)

    async def _quota_of(self, space_id: str) -> pb.GetQuotaResponse:
        total, used = await self._driver.quota(space_id)
        space = await self._driver.space(space_id)
        remaining = max(total - used, 0) if total > 0 else await self._driver.free_bytes()
        return pb.GetQuotaResponse(
            total=max(total, 0),
            used=used,
            remaining=remaining,
            unlimited=total <= 0,
            inherited=space is not None and space.quota < 0,
        )


class ProviderService(pb_grpc.ProviderServicer):
    def __init__(self, provider_id: str, home_range: tuple[str, str], fixed: tuple[str, ...], data_url: str) -> None:
        self._info = pb.GetProviderInfoResponse(
            provider_id=provider_id,
            home_range_start=home_range[0],
            home_range_end=home_range[1],
            space_ids=list(fixed),
            data_url=data_url,
        )

    async def GetProviderInfo(self, request: pb.GetProviderInfoRequest, context: Ctx) -> pb.GetProviderInfoResponse:
        return self._info
