"""Provisioning operations over the identity gRPC API, in OCS terms (user and group *names* as ids)."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.identity.v1.contract import valid_email
from ocisd.api.storage.v1 import storage_pb2, storage_pb2_grpc
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.ocs import EXISTS, INVALID, NOT_FOUND, SERVER_ERROR, UNAUTHORISED, quota_object
from ocisd.rpc.client import RpcClients


class OcsFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# ownCloud refuses a malformed e-mail address with 102 on create and edit (v2: 400), before storing anything.
BAD_EMAIL = 102


def check_email(address: str) -> None:
    if not valid_email(address):
        raise OcsFailure(BAD_EMAIL, "invalid email address")


_CODES = {
    grpc.StatusCode.ALREADY_EXISTS: EXISTS,
    grpc.StatusCode.INVALID_ARGUMENT: INVALID,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED: UNAUTHORISED,
    grpc.StatusCode.UNAUTHENTICATED: UNAUTHORISED,
}


def failure_of(exc: grpc.aio.AioRpcError) -> OcsFailure:
    return OcsFailure(_CODES.get(exc.code(), SERVER_ERROR), exc.details() or exc.code().name.lower())


def user_data(user: Any, quota: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": user.username,
        "enabled": user.enabled,
        "email": user.email,
        "displayname": user.display_name or user.username,
        "display-name": user.display_name or user.username,
        "quota": quota or {"definition": "default"},
    }


class Provisioning:
    def __init__(self, rpc: RpcClients) -> None:
        self.users = rpc.stub("users", users_pb2_grpc.UsersStub)
        self.groups = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self.storage = rpc.stub("gateway", storage_pb2_grpc.StorageStub)

    async def user(self, name: str) -> Any:
        return await self.users.GetUser(users_pb2.GetUserRequest(username=name))

    async def quota(self, user: Any) -> dict[str, Any] | None:
        """The quota of the user's personal space; None when no storage answers."""
        request = storage_pb2.GetQuotaRequest(ref=storage_pb2.Reference(space_id=home_space_id(user.id)))
        try:
            return quota_object(await self.storage.GetQuota(request))
        except grpc.aio.AioRpcError:
            return None

    async def group(self, name: str) -> Any:
        return await self.groups.GetGroup(groups_pb2.GetGroupRequest(name=name))

    async def list_users(self, search: str) -> list[str]:
        reply = await self.users.ListUsers(users_pb2.ListUsersRequest(query=search))
        return [u.username for u in reply.users]

    async def create_user(self, name: str, password: str, email: str, display_name: str, groups: list[str]) -> None:
        if not name or not password:
            raise OcsFailure(INVALID, "userid and password are required")
        check_email(email)
        user = await self.users.CreateUser(
            users_pb2.CreateUserRequest(username=name, password=password, email=email, display_name=display_name)
        )
        for group in groups:
            found = await self.group(group)
            await self.groups.AddMember(groups_pb2.MemberRequest(group_id=found.id, user_id=user.id))

    async def edit_user(self, name: str, key: str, value: str) -> None:
        user = await self.user(name)
        if key == "password":
            await self.users.SetPassword(users_pb2.SetPasswordRequest(id=user.id, password=value))
        elif key == "email":
            check_email(value)
            await self.users.UpdateUser(users_pb2.UpdateUserRequest(id=user.id, email=value))
        elif key in ("display", "displayname"):
            await self.users.UpdateUser(users_pb2.UpdateUserRequest(id=user.id, display_name=value))
        else:
            raise OcsFailure(INVALID, f"unknown key {key!r}: use email, displayname or password")

    async def set_enabled(self, name: str, enabled: bool) -> None:
        user = await self.user(name)
        await self.users.SetEnabled(users_pb2.SetEnabledRequest(id=user.id, enabled=enabled))

    async def delete_user(self, name: str) -> None:
        user = await self.user(name)
        await self.users.DeleteUser(users_pb2.DeleteUserRequest(id=user.id))

    async def groups_of(self, name: str) -> list[str]:
        user = await self.user(name)
        reply = await self.groups.GroupsOfUser(groups_pb2.GroupsOfUserRequest(user_id=user.id))
        return [g.name for g in reply.groups]

    async def membership(self, name: str, group: str, member: bool) -> None:
        if not group:
            raise OcsFailure(INVALID, "groupid is required")
        user, found = await self.user(name), await self.group(group)
        request = groups_pb2.MemberRequest(group_id=found.id, user_id=user.id)
        await (self.groups.AddMember(request) if member else self.groups.RemoveMember(request))

    async def list_groups(self, search: str) -> list[str]:
        reply = await self.groups.ListGroups(groups_pb2.ListGroupsRequest(query=search))
        return [g.name for g in reply.groups]

    async def create_group(self, name: str) -> None:
        if not name:
            raise OcsFailure(INVALID, "groupid is required")
        await self.groups.CreateGroup(groups_pb2.CreateGroupRequest(name=name, display_name=name))

    async def members(self, group: str) -> list[str]:
        found = await self.group(group)
        reply = await self.groups.ListMembers(groups_pb2.ListMembersRequest(group_id=found.id))
        names = []
        for user_id in reply.user_ids:
            names.append((await self.users.GetUser(users_pb2.GetUserRequest(id=user_id))).username)
        return sorted(names)

    async def delete_group(self, group: str) -> None:
        found = await self.group(group)
        await self.groups.DeleteGroup(groups_pb2.DeleteGroupRequest(id=found.id))
