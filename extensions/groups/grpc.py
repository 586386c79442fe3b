"""The Groups gRPC service: any authenticated caller reads; the admin (or system) changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc.aio

from ocisd import authz, identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2
from ocisd.api.identity.v1.contract import Forbidden, InvalidValue, handled
from ocisd.config.shared import SharedConfig

from .backends import GroupRecord
from .directory import GroupDirectory


def group_pb(group: GroupRecord) -> groups_pb2.Group:
    return groups_pb2.Group(id=group.id, name=group.name, display_name=group.display_name)


class GroupsService(groups_pb2_grpc.GroupsServicer):
    def __init__(self, directory: GroupDirectory, shared: SharedConfig, changed: Callable[[str], None]) -> None:
        self._directory = directory
        self._shared = shared
        # Told each user whose groups changed: a token names its groups, so whoever caches one drops it.
        self._changed = changed

    def _require_admin(self) -> None:
        if not authz.is_privileged(identity.CURRENT.get(), self._shared):
            raise Forbidden("only the admin may change groups")

    @handled
    async def CreateGroup(self, request: Any, context: grpc.aio.ServicerContext) -> groups_pb2.Group:
        self._require_admin()
        return group_pb(await self._directory.create(request.name, request.display_name))

    @handled
    async def GetGroup(self, request: Any, context: grpc.aio.ServicerContext) -> groups_pb2.Group:
        if bool(request.id) == bool(request.name):
            raise InvalidValue("give exactly one of id and name")
        return group_pb(
            await (self._directory.get(request.id) if request.id else self._directory.by_name(request.name))
        )

    @handled
    async def ListGroups(self, request: Any, context: grpc.aio.ServicerContext) -> groups_pb2.ListGroupsResponse:
        return groups_pb2.ListGroupsResponse(groups=[group_pb(g) for g in await self._directory.find(request.query)])

    @handled
    async def DeleteGroup(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin()
        members = await self._directory.members(request.id)
        await self._directory.delete(request.id)
        for user_id in members:
            self._changed(user_id)
        return users_pb2.Empty()

    @handled
    async def AddMember(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin()
        await self._directory.add_member(request.group_id, request.user_id)
        self._changed(request.user_id)
        return users_pb2.Empty()

    @handled
    async def RemoveMember(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin()
        await self._directory.remove_member(request.group_id, request.user_id)
        self._changed(request.user_id)
        return users_pb2.Empty()

    @handled
    async def ListMembers(self, request: Any, context: grpc.aio.ServicerContext) -> groups_pb2.ListMembersResponse:
        return groups_pb2.ListMembersResponse(user_ids=await self._directory.members(request.group_id))

    @handled
    async def GroupsOfUser(self, request: Any, context: grpc.aio.ServicerContext) -> groups_pb2.ListGroupsResponse:
        groups = await self._directory.groups_of(request.user_id)
        return groups_pb2.ListGroupsResponse(groups=[group_pb(g) for g in groups])
