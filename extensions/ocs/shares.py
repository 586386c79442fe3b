"""The OCS share API (`apps/files_sharing/api/v1/shares`) over the Sharing service, as ownCloud answers it.

Every call runs as the caller (their token goes on to sharing and storage).
Failures answer 400 (bad input), 403 (not allowed, already shared) or 404 (no
such file, user, group or share) with `meta.message`, in v1 and v2 alike, and
nothing is made.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd import identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.ocs import BAD_REQUEST, FORBIDDEN, MISSING, SERVER_ERROR, UNAUTHORISED, respond
from ocisd.rpc.client import RpcClients

from .share_fields import STATE_FILTER, BadDate, Formatter, parse_expiry

API = "apps/files_sharing/api/v1"
_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: BAD_REQUEST,
    grpc.StatusCode.NOT_FOUND: MISSING,
    grpc.StatusCode.PERMISSION_DENIED: FORBIDDEN,
    grpc.StatusCode.ALREADY_EXISTS: FORBIDDEN,
    grpc.StatusCode.UNAUTHENTICATED: UNAUTHORISED,
}
TRUE = ("true", "1", "yes")


class ShareFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


Handler = Callable[[web.Request], Awaitable[Any]]


def answering(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`fn`'s result becomes the envelope's data; its failures the envelope's code and message."""

    async def handle(request: web.Request) -> web.Response:
        try:
            return respond(request, await fn(request))
        except ShareFailure as exc:
            return respond(request, None, exc.code, str(exc))
        except grpc.aio.AioRpcError as exc:
            return respond(request, None, _CODES.get(exc.code(), SERVER_ERROR), exc.details() or exc.code().name)

    return handle


async def params(request: web.Request) -> dict[str, str]:
    """A form-encoded or JSON body (ownCloud clients send either)."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ShareFailure(BAD_REQUEST, "malformed JSON body") from None
        if not isinstance(body, dict):
            raise ShareFailure(BAD_REQUEST, "the JSON body must be an object")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    return {k: str(v) for k, v in (await request.post()).items()}


def number(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ShareFailure(BAD_REQUEST, f"{what} must be a number") from None


def expiry(value: str) -> int:
    try:
        return parse_expiry(value)
    except BadDate as exc:
        raise ShareFailure(BAD_REQUEST, str(exc)) from None


class ShareApi:
    def __init__(self, rpc: RpcClients, url: str) -> None:
        self._rpc = rpc
        self._url = url
        self._sharing: Any = rpc.stub("sharing", sharing_pb2_grpc.SharingStub)
        self._storage: Any = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self._groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)

    def _formatter(self) -> Formatter:
        return Formatter(self._rpc, self._url)

    async def _stat(self, path: str) -> pb.ResourceInfo:
        if not path:
            raise ShareFailure(MISSING, "Please specify a file or folder path")
        try:
            reply = await self._storage.Stat(pb.StatRequest(ref=pb.Reference(path=path)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                raise ShareFailure(MISSING, "Wrong path, file/folder doesn't exist") from None
            raise
        info: pb.ResourceInfo = reply.info
        return info

    async def _grantee(self, share_type: int, name: str) -> str:
        if not name:
            raise ShareFailure(
                MISSING, "Please specify a valid user" if share_type == 0 else "Please specify a valid group"
            )
        try:
            if share_type == spb.SHARE_TYPE_USER:
                return str((await self._users.GetUser(users_pb2.GetUserRequest(username=name))).id)
            return str((await self._groups.GetGroup(groups_pb2.GetGroupRequest(name=name))).id)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise
            raise ShareFailure(MISSING, f"Please specify a valid {'user' if share_type == 0 else 'group'}") from None

    async def create(self, request: web.Request) -> Any:
        form = await params(request)
        share_type = number(form.get("shareType", ""), "shareType")
        if share_type not in (spb.SHARE_TYPE_USER, spb.SHARE_TYPE_GROUP, spb.SHARE_TYPE_LINK):
            raise ShareFailure(BAD_REQUEST, "Unknown share type")
        info = await self._stat(form.get("path", ""))
        is_folder = info.type == pb.RESOURCE_TYPE_CONTAINER
        public_upload = form.get("publicUpload", "").lower() in TRUE
        if "permissions" in form:
            perms = number(form["permissions"], "permissions")
        elif share_type == spb.SHARE_TYPE_LINK:
            perms = bits.UPLOAD if public_upload else bits.READ
        else:  # everything the caller holds that applies
            perms = bits.applicable(bits.ALL, is_folder) & info.permission_bits
        if public_upload and (share_type != spb.SHARE_TYPE_LINK or not is_folder):
            raise ShareFailure(FORBIDDEN, "public upload is only possible for publicly shared folders")
        grantee = (
            "" if share_type == spb.SHARE_TYPE_LINK else await self._grantee(share_type, form.get("shareWith", ""))
        )
        request_pb = spb.CreateShareRequest(
            resource_id=info.id,
            share_type=share_type,  # type: ignore[arg-type]
            grantee_id=grantee,
            permissions=perms,
            expires=expiry(form.get("expireDate", "")),
            password=form.get("password", ""),
            name=form.get("name", ""),
        )
        share = (await self._sharing.CreateShare(request_pb)).share
        fmt = self._formatter()
        fmt.knows(info)
        return await fmt.share(share)

    async def list(self, request: web.Request) -> Any:
        q = request.query
        fmt = self._formatter()
        if q.get("shared_with_me", "").lower() in TRUE:
            state = q.get("state", "accepted").lower()
            if state not in STATE_FILTER:
                raise ShareFailure(BAD_REQUEST, "state must be all, accepted, pending or declined")
            reply = await self._sharing.ListReceivedShares(spb.ListReceivedSharesRequest(states=STATE_FILTER[state]))
            got = list(reply.shares)
            if q.get("path"):
                resource = (await self._stat(q["path"])).id
                got = [r for r in got if r.share.resource_id == resource]
            return [await fmt.share(r.share, r) for r in got]
        resource_ids: list[str] = []
        if q.get("path"):
            info = await self._stat(q["path"])
            fmt.knows(info)
            resource_ids = [info.id]
            if q.get("subfiles", "").lower() in TRUE:
                if info.type != pb.RESOURCE_TYPE_CONTAINER:
                    raise ShareFailure(BAD_REQUEST, "not a directory")
                listing = await self._storage.ListContainer(pb.ListContainerRequest(ref=pb.Reference(path=q["path"])))
                for child in listing.infos:
                    fmt.knows(child)
                resource_ids = [child.id for child in listing.infos]
                if not resource_ids:
                    return []
        reshares = q.get("reshares", "").lower() in TRUE
        reply = await self._sharing.ListShares(spb.ListSharesRequest(resource_ids=resource_ids, reshares=reshares))
        return [await fmt.share(s) for s in reply.shares]

    async def get(self, request: web.Request) -> Any:
        share = (await self._sharing.GetShare(spb.GetShareRequest(id=request.match_info["id"]))).share
        who = identity.CURRENT.get()
        if who is not None and who.user_id not in (share.creator_id, share.owner_id):
            # A recipient sees it where it is mounted for them.
            received = (await self._sharing.ListReceivedShares(spb.ListReceivedSharesRequest())).shares
            for got in received:
                if got.share.id == share.id:
                    return [await self._formatter().share(got.share, got)]
        return [await self._formatter().share(share)]

    async def update(self, request: web.Request) -> Any:
        form = await params(request)
        share_id = request.match_info["id"]
        update = spb.UpdateShareRequest(id=share_id)
        if "permissions" in form:
            update.set_permissions, update.permissions = True, number(form["permissions"], "permissions")
        elif "publicUpload" in form:
            upload = form["publicUpload"].lower() in TRUE
            update.set_permissions, update.permissions = True, bits.UPLOAD if upload else bits.READ
        if "password" in form:
            update.set_password, update.password = True, form["password"]
        if "expireDate" in form:
            update.set_expires, update.expires = True, expiry(form["expireDate"])
        if "name" in form:
            update.set_name, update.name = True, form["name"]
        if not (update.set_permissions or update.set_password or update.set_expires or update.set_name):
            raise ShareFailure(BAD_REQUEST, "Wrong or no update parameter given")
        share = (await self._sharing.UpdateShare(update)).share
        return await self._formatter().share(share)

    async def delete(self, request: web.Request) -> Any:
        await self._sharing.RemoveShare(spb.RemoveShareRequest(id=request.match_info["id"]))
        return None

    async def accept(self, request: web.Request) -> Any:
        return await self._answer(request, spb.SHARE_STATE_ACCEPTED)

    async def decline(self, request: web.Request) -> Any:
        return await self._answer(request, spb.SHARE_STATE_DECLINED)

    async def _answer(self, request: web.Request, state: int) -> Any:
        answer = spb.UpdateReceivedShareRequest(id=request.match_info["id"], state=state)  # type: ignore[arg-type]
        got = (await self._sharing.UpdateReceivedShare(answer)).share
        return [await self._formatter().share(got.share, got)]


def add_routes(app: web.Application, prefixes: tuple[str, ...], api: ShareApi) -> None:
    for p in prefixes:
        base = f"{p}/{API}/shares"
        app.router.add_get(base, answering(api.list))
        app.router.add_post(base, answering(api.create))
        app.router.add_post(f"{base}/pending/{{id}}", answering(api.accept))
        app.router.add_delete(f"{base}/pending/{{id}}", answering(api.decline))
        app.router.add_get(f"{base}/{{id}}", answering(api.get))
        app.router.add_put(f"{base}/{{id}}", answering(api.update))
        app.router.add_delete(f"{base}/{{id}}", answering(api.delete))
