"""`/graph/v1.0/users` and `/groups`: accounts for those holding Accounts.ReadWrite / Groups.ReadWrite.

Everyone may search users and read groups (sharing needs it) and read themselves; only the
permission holders change anything. graph checks the permission, then calls the identity API
as the system identity (whose admin-only methods it needs for listing too).
"""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.identity.v1.contract import valid_email
from ocisd.api.settings.v1.contract import ACCOUNTS_READ_WRITE, GROUPS_READ_WRITE
from ocisd.rpc.client import RpcClients

from . import odata
from .errors import bad_request, forbidden, json_body, not_found, text
from .roles import Authority, caller

USER_FIELDS = frozenset({"id", "displayName", "mail", "onPremisesSamAccountName", "accountEnabled", "userType"})
# what a user without Accounts.ReadWrite sees of others
PUBLIC_USER_FIELDS = frozenset({"id", "displayName", "mail", "onPremisesSamAccountName", "userType"})
GROUP_FIELDS = frozenset({"id", "displayName"})


def user_json(u: Any) -> dict[str, Any]:
    return {
        "id": u.id,
        "displayName": u.display_name or u.username,
        "mail": u.email,
        "onPremisesSamAccountName": u.username,
        "accountEnabled": u.enabled,
        "userType": "Member",
    }


def group_json(g: Any) -> dict[str, Any]:
    return {"id": g.id, "displayName": g.display_name or g.name}


def _is_missing(exc: grpc.aio.AioRpcError) -> bool:
    return exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


class Directory:
    def __init__(self, rpc: RpcClients, authority: Authority) -> None:
        self.users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self.groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self.authority = authority

    # lookups (the caller has been checked; these run as the system identity)

    async def _first_found(self, lookup: Any, requests: tuple[Any, Any], what: str) -> Any:
        """The answer to the first of `requests` (by id, then by name) that finds something; 404 else."""
        with self.authority.as_system():
            for request in requests:
                try:
                    return await lookup(request)
                except grpc.aio.AioRpcError as exc:
                    if not _is_missing(exc):
                        raise
        raise not_found(f"no {what}")

    async def user(self, ref: str) -> Any:
        """A user by id or by username."""
        by = (users_pb2.GetUserRequest(id=ref), users_pb2.GetUserRequest(username=ref))
        return await self._first_found(self.users.GetUser, by, f"user {ref!r}")

    async def group(self, ref: str) -> Any:
        """A group by id or by name."""
        by = (groups_pb2.GetGroupRequest(id=ref), groups_pb2.GetGroupRequest(name=ref))
        return await self._first_found(self.groups.GetGroup, by, f"group {ref!r}")

    async def member_of(self, user_id: str) -> list[dict[str, Any]]:
        with self.authority.as_system():
            reply = await self.groups.GroupsOfUser(groups_pb2.GroupsOfUserRequest(user_id=user_id))
        return [group_json(g) for g in reply.groups]

    async def member_ids(self, group_id: str) -> list[str]:
        with self.authority.as_system():
            return list((await self.groups.ListMembers(groups_pb2.ListMembersRequest(group_id=group_id))).user_ids)

    async def user_answer(self, u: Any, q: odata.Query, fields: frozenset[str] = USER_FIELDS) -> dict[str, Any]:
        item = {k: v for k, v in user_json(u).items() if k in fields}
        if "memberOf" in q.expand:
            item["memberOf"] = await self.member_of(u.id)
        return item

    # users

    async def list_users(self, request: web.Request) -> web.Response:
        who = caller()
        admin = await self.authority.holds(who, ACCOUNTS_READ_WRITE)
        q = odata.parse(request.query, USER_FIELDS, frozenset({"memberOf"}), frozenset({"memberOf"}))
        if not admin and not (q.search or q.equals or q.any_id):
            raise forbidden("only a search: listing every user needs Accounts.ReadWrite")
        with self.authority.as_system():
            found = list((await self.users.ListUsers(users_pb2.ListUsersRequest(query=q.search))).users)
        for _, group_ref in q.any_id:
            members = set(await self.member_ids((await self.group(group_ref)).id))
            found = [u for u in found if u.id in members]
        fields = USER_FIELDS if admin else PUBLIC_USER_FIELDS
        return web.json_response(odata.collection([await self.user_answer(u, q, fields) for u in found], q))

    async def get_user(self, request: web.Request) -> web.Response:
        who = caller()
        q = odata.parse(request.query, USER_FIELDS, frozenset({"memberOf"}))
        u = await self.user(request.match_info["id"])
        if u.id != who.user_id:
            await self.authority.require(who, ACCOUNTS_READ_WRITE)
        return web.json_response(odata.selected(await self.user_answer(u, q), q))

    async def create_user(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), ACCOUNTS_READ_WRITE)
        body = await json_body(request)
        username = text(body, "onPremisesSamAccountName", required=True)
        mail = text(body, "mail") or ""
        if not valid_email(mail):
            raise bad_request("mail is not a valid e-mail address")
        profile = body.get("passwordProfile") or {}
        password = text(profile, "password") if isinstance(profile, dict) else None
        enabled = body.get("accountEnabled", True)
        if not isinstance(enabled, bool):
            raise bad_request("accountEnabled must be true or false")
        new = users_pb2.CreateUserRequest(
            username=username, password=password or "", display_name=text(body, "displayName") or "", email=mail
        )
        with self.authority.as_system():
            u = await self.users.CreateUser(new)
            if not enabled:
                u = await self.users.SetEnabled(users_pb2.SetEnabledRequest(id=u.id, enabled=False))
        return web.json_response(user_json(u), status=201)

    async def update_user(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), ACCOUNTS_READ_WRITE)
        body = await json_body(request)
        u = await self.user(request.match_info["id"])
        update = users_pb2.UpdateUserRequest(id=u.id)
        if (name := text(body, "displayName")) is not None:
            update.display_name = name
        if (mail := text(body, "mail")) is not None:
            if not valid_email(mail):
                raise bad_request("mail is not a valid e-mail address")
            update.email = mail
        profile = body.get("passwordProfile")
        if profile is not None and not isinstance(profile, dict):
            raise bad_request("passwordProfile must be an object")
        password = text(profile or {}, "password")
        enabled = body.get("accountEnabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise bad_request("accountEnabled must be true or false")
        with self.authority.as_system():
            u = await self.users.UpdateUser(update)
            if password is not None:
                await self.users.SetPassword(users_pb2.SetPasswordRequest(id=u.id, password=password))
            if enabled is not None:
                u = await self.users.SetEnabled(users_pb2.SetEnabledRequest(id=u.id, enabled=enabled))
        return web.json_response(user_json(u))

    async def delete_user(self, request: web.Request) -> web.Response:
        who = caller()
        await self.authority.require(who, ACCOUNTS_READ_WRITE)
        u = await self.user(request.match_info["id"])
        if u.id == who.user_id:
            raise forbidden("you cannot delete yourself")
        with self.authority.as_system():
            await self.users.DeleteUser(users_pb2.DeleteUserRequest(id=u.id))
        return web.Response(status=204)

    # groups

    async def group_answer(self, g: Any, q: odata.Query) -> dict[str, Any]:
        item = group_json(g)
        if "members" in q.expand:
            item["members"] = await self.members_of(g.id)
        return item

    async def members_of(self, group_id: str) -> list[dict[str, Any]]:
        members = []
        for user_id in await self.member_ids(group_id):
            with self.authority.as_system():
                members.append(
                    {
                        k: v
                        for k, v in user_json(await self.users.GetUser(users_pb2.GetUserRequest(id=user_id))).items()
                        if k in PUBLIC_USER_FIELDS
                    }
                )
        return members

    async def list_groups(self, request: web.Request) -> web.Response:
        caller()
        q = odata.parse(request.query, GROUP_FIELDS, frozenset({"members"}))
        with self.authority.as_system():
            found = (await self.groups.ListGroups(groups_pb2.ListGroupsRequest(query=q.search))).groups
        return web.json_response(odata.collection([await self.group_answer(g, q) for g in found], q))

    async def get_group(self, request: web.Request) -> web.Response:
        caller()
        q = odata.parse(request.query, GROUP_FIELDS, frozenset({"members"}))
        g = await self.group(request.match_info["id"])
        return web.json_response(odata.selected(await self.group_answer(g, q), q))

    async def list_members(self, request: web.Request) -> web.Response:
        caller()
        g = await self.group(request.match_info["id"])
        q = odata.parse(request.query, PUBLIC_USER_FIELDS)
        return web.json_response(odata.collection(await self.members_of(g.id), q))

    async def create_group(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), GROUPS_READ_WRITE)
        name = text(await json_body(request), "displayName", required=True)
        with self.authority.as_system():
            g = await self.groups.CreateGroup(groups_pb2.CreateGroupRequest(name=name, display_name=name))
        return web.json_response(group_json(g), status=201)

    async def update_group(self, request: web.Request) -> web.Response:
        """Members through `members@odata.bind` (a list of user URLs); groups keep their name."""
        await self.authority.require(caller(), GROUPS_READ_WRITE)
        body = await json_body(request)
        g = await self.group(request.match_info["id"])
        name = text(body, "displayName")
        if name is not None and name != group_json(g)["displayName"]:
            raise bad_request("groups cannot be renamed")
        binds = body.get("members@odata.bind", [])
        if not isinstance(binds, list) or not all(isinstance(b, str) for b in binds):
            raise bad_request("members@odata.bind must be a list of user URLs")
        for url in binds:
            await self._membership(g.id, _user_ref(url), True)
        return web.Response(status=204)

    async def delete_group(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), GROUPS_READ_WRITE)
        g = await self.group(request.match_info["id"])
        with self.authority.as_system():
            await self.groups.DeleteGroup(groups_pb2.DeleteGroupRequest(id=g.id))
        return web.Response(status=204)

    async def add_member(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), GROUPS_READ_WRITE)
        url = text(await json_body(request), "@odata.id", required=True)
        g = await self.group(request.match_info["id"])
        await self._membership(g.id, _user_ref(url or ""), True)
        return web.Response(status=204)

    async def remove_member(self, request: web.Request) -> web.Response:
        await self.authority.require(caller(), GROUPS_READ_WRITE)
        g = await self.group(request.match_info["id"])
        await self._membership(g.id, request.match_info["user"], False)
        return web.Response(status=204)

    async def _membership(self, group_id: str, user_ref: str, member: bool) -> None:
        u = await self.user(user_ref)
        request = groups_pb2.MemberRequest(group_id=group_id, user_id=u.id)
        with self.authority.as_system():
            await (self.groups.AddMember(request) if member else self.groups.RemoveMember(request))


def _user_ref(url: str) -> str:
    """The user id at the end of `https://…/graph/v1.0/users/<id>`."""
    head, _, ref = url.rstrip("/").rpartition("/users/")
    if not head or not ref or "/" in ref:
        raise bad_request(f"not a user URL: {url!r}")
    return ref
