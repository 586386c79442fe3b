"""The upload-session methods of the Storage service (mixed into `grpc.StorageService`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.permissions import CREATE, UPDATE
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import caller, external_id, handled, split_session_id
from ocisd.identity import Identity
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.sessions.records import Session
from ocisd.storage.sessions.upload_sessions import Finish, UploadSessions

from . import transfer
from .access import ANY, PUT, Access
from .info import resource_info
from .spaces import SpacePolicy

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
SESSION_KIND = "session"


def has_target(ref: pb.Reference) -> bool:
    return bool(ref.path or ref.node_id)


def _options(request: Any) -> UploadOptions:
    return UploadOptions(
        checksum=request.checksum,
        if_match=request.if_match,
        if_none_match=request.if_none_match,
        mtime=request.mtime_ns,
        lock_tokens=tuple(request.lock_tokens),
    )


def session_url(transfers: transfer.Transfers, s: Session) -> str:
    """A data URL for the session, valid as long as the session."""
    token, _ = transfer.sign(transfers.secret, {"kind": SESSION_KIND, "sid": s.id}, s.expires - time.time())
    return f"{transfers.base_url}/data/session/{token}"


class Servicer(Protocol):
    """What the methods below use of the servicer they are mixed into."""

    _sessions: UploadSessions
    _spaces: SpacePolicy
    _transfers: transfer.Transfers

    async def _ref(self, ref: pb.Reference, need: int = ...) -> Access: ...


def _session_id(servicer: Servicer, session_id: str) -> tuple[str, Identity]:
    """The full session id ("<space>!<name>"; a bare name is in the caller's home) and the caller."""
    who = caller()
    space, name = split_session_id(session_id)
    return external_id(space or servicer._spaces.home(who)[0], name), who


def _reference(t: Ref) -> pb.Reference:
    return pb.Reference(space_id=t.space, path=t.path, node_id=external_id(t.space, t.node) if t.node else "")


async def _message(servicer: Servicer, s: Session, owner: str, bits: int | None = None) -> pb.UploadSession:
    msg = pb.UploadSession(
        id=s.id,
        name=s.name,
        expires=s.expires,
        created=s.created,
        offset=s.offset,
        length=s.length,
        checksum=s.opts.checksum,
        mtime_ns=s.opts.mtime,
        if_match=s.opts.if_match,
        metadata=s.metadata,
        finished=bool(s.result),
    )
    if s.target is not None:
        msg.target.CopyFrom(_reference(s.target))
    if s.result:
        with contextlib.suppress(errors.StorageError):  # the file may be gone since
            node, _ = await servicer._sessions.finished(s)
            msg.info.CopyFrom(resource_info(node, owner, bits))
        return msg
    msg.data_url = session_url(servicer._transfers, s)
    for name, size, mtime in await servicer._sessions.chunks(s.id):
        msg.chunks.add(name=name, size=size, mtime_ns=mtime)
    return msg


async def _session_access(servicer: Servicer, ref: pb.Reference) -> Access:
    """Where a session may go: its target file (checked like an upload), or a space, named by no
    reference (the caller's home) or by a folder's id (a grantee's session in the owner's space)."""
    if has_target(ref) and not (ref.node_id and not ref.path):
        return await servicer._ref(ref, PUT)
    a = await servicer._ref(ref, ANY)
    if has_target(ref) and a.target is None:  # the owner: nothing known yet of the node named
        a = replace(a, target=await servicer._sessions.driver.stat(a.ref))
    if a.target is not None and not a.target.is_folder:
        return await servicer._ref(ref, PUT)
    if a.bits is not None and not a.bits & (CREATE | UPDATE):
        raise errors.forbidden("the share does not allow uploads")
    return a


class SessionMethods:
    """Mixed into `grpc.StorageService` (see `Servicer`)."""

    @handled
    async def CreateUploadSession(
        self: Servicer, request: pb.CreateUploadSessionRequest, context: Ctx
    ) -> pb.UploadSession:
        a = await _session_access(self, request.ref)
        length = request.length if request.length >= 0 else -1
        into_space = not has_target(request.ref) or (a.target is not None and a.target.is_folder)
        target = None if into_space else a.ref
        opts = _options(request) if into_space else a.upload_options(_options(request))  # bound at finish
        if target is not None:
            await self._sessions.driver.check_upload(target, replace(opts, size=length))
        elif length > 0:
            await self._sessions.check_quota(a.ref.space, length)
        s = self._sessions.new(a.who.user_id, a.ref.space, request.name, target, length, opts, dict(request.metadata))
        return await _message(self, await self._sessions.create(s), a.owner, a.bits)

    @handled
    async def GetUploadSession(self: Servicer, request: pb.GetUploadSessionRequest, context: Ctx) -> pb.UploadSession:
        session_id, who = _session_id(self, request.session_id)
        return await _message(self, await self._sessions.get(session_id, who.user_id), who.user_id)

    @handled
    async def ListUploadSessions(
        self: Servicer, request: pb.ListUploadSessionsRequest, context: Ctx
    ) -> pb.ListUploadSessionsResponse:
        a = await self._ref(request.ref, ANY)
        sessions = await self._sessions.records.of_user(a.who.user_id, a.ref.space, int(time.time()))
        return pb.ListUploadSessionsResponse(sessions=[await _message(self, s, a.owner, a.bits) for s in sessions])

    @handled
    async def FinishUploadSession(
        self: Servicer, request: pb.FinishUploadSessionRequest, context: Ctx
    ) -> pb.FinishUploadSessionResponse:
        session_id, who = _session_id(self, request.session_id)
        s = await self._sessions.get(session_id, who.user_id)
        ref = request.ref
        if not has_target(ref):  # the session's own target, checked again: a grant may have gone since
            if s.target is None:
                raise errors.invalid("no-target", "the upload session has no target file")
            ref = _reference(s.target)
        a = await self._ref(ref, ANY if s.result else PUT)  # a retry answers with the file it committed
        length = request.length if request.HasField("length") else None
        extra = Finish(a.ref, length, a.upload_options(_options(request)))
        node, created = await self._sessions.finish(session_id, who.user_id, extra)
        return pb.FinishUploadSessionResponse(info=a.info(node), created=created)

    @handled
    async def DeleteUploadSession(
        self: Servicer, request: pb.DeleteUploadSessionRequest, context: Ctx
    ) -> pb.DeleteUploadSessionResponse:
        session_id, who = _session_id(self, request.session_id)
        await self._sessions.delete(session_id, who.user_id)
        return pb.DeleteUploadSessionResponse()
