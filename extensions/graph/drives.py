"""`/graph/v1.0/drives` and `/me/drives`: spaces as drives, and their members (`…/root/invite`,
`…/root/permissions`).

What a user may do to a space they reach (rename, members, disable as its manager) goes to the
storage as the caller, which enforces the grants. The administrative acts (create, every
space, quotas, others' spaces) need a settings permission; graph checks it, then calls the
storage's admin-only space RPCs with its service identity.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd.api.settings.v1 import contract as perms
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.storage.v1.contract import PERSONAL, PROJECT, SHARES_SPACE_ID, SPACE_ROLES, new_space_id
from ocisd.identity import Identity
from ocisd.rpc.client import RpcClients

from . import odata
from .directory import Directory
from .drive_json import drive_json, grantee_of, permission_json, root_id, shares_drive
from .errors import GraphError, bad_request, json_body, not_found, text
from .roles import caller

DRIVE_FIELDS = frozenset(
    {"id", "driveType", "driveAlias", "name", "description", "owner", "quota", "root", "webUrl", "lastModifiedDateTime"}
)
RECIPIENT_TYPE = "@libre.graph.recipient.type"


def _flag(request: web.Request, header: str) -> bool:
    return request.headers.get(header, "").strip().upper() == "T"


def _quota(body: dict[str, Any]) -> int | None:
    quota = body.get("quota")
    if quota is None:
        return None
    total = quota.get("total") if isinstance(quota, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise bad_request("quota.total must be a non-negative integer (bytes)")
    return total


class Drives:
    def __init__(self, rpc: RpcClients, directory: Directory, url: str) -> None:
        self._rpc = rpc
        self._storage: Any = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._directory = directory
        self._authority = directory.authority
        self._url = url.rstrip("/")

    # answers

    async def _names(self, grants: list[Any]) -> dict[tuple[str, str], str]:
        """Display names of the grantees, each looked up once; an unknown one keeps its id."""

        async def name(kind: str, ref: str) -> str:
            try:
                found = await (self._directory.user(ref) if kind == "user" else self._directory.group(ref))
            except GraphError:
                return ref
            return str(found.display_name or (found.username if kind == "user" else found.name))

        keys = list({(g.grantee.type, g.grantee.id) for g in grants})
        return dict(zip(keys, await asyncio.gather(*(name(*k) for k in keys)), strict=True))

    async def _permissions(self, grants: list[Any], names: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
        return [permission_json(g, names[(g.grantee.type, g.grantee.id)]) for g in grants]

    async def _drives(self, spaces: list[Any]) -> list[dict[str, Any]]:
        """Drives with their members: the storage lists a project space's root grants with the space
        (to any member), so a drive list costs one ListSpaces and one name look-up per distinct member."""
        names = await self._names([g for s in spaces for g in s.grants])
        return [drive_json(s, self._url, await self._permissions(list(s.grants), names)) for s in spaces]

    async def _drive(self, space: Any) -> web.Response:
        return web.json_response((await self._drives([space]))[0])

    # reading

    async def _space(self, who: Identity, space_id: str) -> Any:
        """The space as the caller sees it; any space for holders of Drives.List."""
        try:
            return (await self._storage.GetSpace(pb.GetSpaceRequest(space_id=space_id))).space
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or not await self._authority.holds(who, perms.DRIVES_LIST):
                raise
        with self._authority.as_service():
            return (await self._storage.GetSpace(pb.GetSpaceRequest(space_id=space_id))).space

    def _shares_live(self) -> bool:
        return bool(self._rpc.targets("storage-shares"))

    async def _list(self, request: web.Request, every: bool) -> web.Response:
        who = caller()
        q = odata.parse(request.query, DRIVE_FIELDS)
        wanted = next((v for k, v in q.equals if k == "driveType"), "")
        ask = pb.ListSpacesRequest(type=wanted if wanted in (PERSONAL, PROJECT) else "")
        if every and await self._authority.holds(who, perms.DRIVES_LIST):
            ask.all = True
            with self._authority.as_service():
                spaces = list((await self._storage.ListSpaces(ask)).spaces)
        else:
            spaces = list((await self._storage.ListSpaces(ask)).spaces)
        drives = await self._drives(spaces)
        if not every and self._shares_live():
            drives.append(shares_drive(self._url))
        return web.json_response(odata.collection(drives, q))

    async def my_drives(self, request: web.Request) -> web.Response:
        return await self._list(request, every=False)

    async def all_drives(self, request: web.Request) -> web.Response:
        return await self._list(request, every=True)

    async def get_drive(self, request: web.Request) -> web.Response:
        who = caller()
        space_id = request.match_info["id"]
        if space_id == SHARES_SPACE_ID and self._shares_live():
            return web.json_response(shares_drive(self._url))
        return await self._drive(await self._space(who, space_id))

    # changing

    async def create_drive(self, request: web.Request) -> web.Response:
        who = caller()
        await self._authority.require(who, perms.DRIVES_CREATE)
        body = await json_body(request)
        if body.get("driveType", PROJECT) != PROJECT:
            raise bad_request("only project drives can be created")
        create = pb.CreateSpaceRequest(
            space_id=new_space_id(),
            name=text(body, "name", required=True),
            description=text(body, "description") or "",
            alias=text(body, "driveAlias") or "",
            quota=_quota(body) or 0,
            manager_id=who.user_id,
        )
        with self._authority.as_service():
            space = (await self._storage.CreateSpace(create)).space
        response = await self._drive(space)
        response.set_status(201)
        return response

    async def update_drive(self, request: web.Request) -> web.Response:
        who = caller()
        body = await json_body(request)
        space = await self._space(who, request.match_info["id"])
        update = pb.UpdateSpaceRequest(space_id=space.id, restore=_flag(request, "Restore"))
        for key, field in (("name", "name"), ("description", "description"), ("driveAlias", "alias")):
            if (value := text(body, key)) is not None:
                setattr(update, field, value)
        quota = _quota(body)
        admin = await self._authority.holds(who, perms.DRIVES_READ_WRITE)
        if update.restore or any(update.HasField(f) for f in ("name", "description", "alias")):  # managers' part
            if admin:
                with self._authority.as_service():
                    space = (await self._storage.UpdateSpace(update)).space
            else:
                space = (await self._storage.UpdateSpace(update)).space
        if quota is not None:
            need = perms.PERSONAL_QUOTA if space.type == PERSONAL else perms.PROJECT_QUOTA
            await self._authority.require(who, need)
            with self._authority.as_service():
                space = (await self._storage.UpdateSpace(pb.UpdateSpaceRequest(space_id=space.id, quota=quota))).space
        return await self._drive(await self._space(who, space.id))

    async def delete_drive(self, request: web.Request) -> web.Response:
        """Disable a space; with `Purge: T`, remove a disabled one for good."""
        who = caller()
        space = await self._space(who, request.match_info["id"])
        purge = _flag(request, "Purge")
        delete = pb.DeleteSpaceRequest(space_id=space.id, purge=purge)
        if await self._authority.holds(who, perms.DRIVES_DELETE_PROJECT if purge else perms.DRIVES_ENABLED):
            with self._authority.as_service():
                await self._storage.DeleteSpace(delete)
        else:
            await self._storage.DeleteSpace(delete)
        return web.Response(status=204)

    # members

    async def invite(self, request: web.Request) -> web.Response:
        """Give users or groups a role on the space root, as the caller (the storage checks they may)."""
        who = caller()
        body = await json_body(request)
        roles, recipients = body.get("roles"), body.get("recipients")
        if not isinstance(roles, list) or len(roles) != 1 or roles[0] not in SPACE_ROLES:
            raise bad_request(f"roles must be one of {', '.join(SPACE_ROLES)}")
        if not isinstance(recipients, list) or not recipients or not all(isinstance(r, dict) for r in recipients):
            raise bad_request("recipients must be a non-empty list of objects")
        space = await self._space(who, request.match_info["id"])
        grantees = []
        for recipient in recipients:
            kind = recipient.get(RECIPIENT_TYPE, "user")
            ref = text(recipient, "objectId", required=True) or ""
            if kind not in ("user", "group"):
                raise bad_request(f"{RECIPIENT_TYPE} must be user or group")
            found = await (self._directory.user(ref) if kind == "user" else self._directory.group(ref))
            grantees.append(pb.Grantee(type=kind, id=found.id))
        root = pb.Reference(node_id=root_id(space.id))
        for grantee in grantees:
            grant = pb.Grant(grantee=grantee, permissions=SPACE_ROLES[roles[0]], creator_id=who.user_id)
            await self._storage.AddGrant(pb.AddGrantRequest(ref=root, grant=grant))
        added = {(g.type, g.id) for g in grantees}
        space = await self._space(who, space.id)
        grants = [g for g in space.grants if (g.grantee.type, g.grantee.id) in added]
        return web.json_response({"value": await self._permissions(grants, await self._names(grants))})

    async def list_permissions(self, request: web.Request) -> web.Response:
        space = await self._space(caller(), request.match_info["id"])
        grants = list(space.grants)  # every member sees every member
        return web.json_response({"value": await self._permissions(grants, await self._names(grants))})

    async def remove_permission(self, request: web.Request) -> web.Response:
        space = await self._space(caller(), request.match_info["id"])
        grantee = grantee_of(request.match_info["perm"])
        if grantee is None:
            raise not_found(f"no permission {request.match_info['perm']!r}")
        ref = pb.Reference(node_id=root_id(space.id))
        await self._storage.RemoveGrant(
            pb.RemoveGrantRequest(ref=ref, grantee=pb.Grantee(type=grantee[0], id=grantee[1]))
        )
        return web.Response(status=204)
