"""Groups and memberships: names validated like usernames, unique case-insensitively."""

from __future__ import annotations

import uuid

from ocisd.api.identity.v1.contract import InvalidValue, NotFound, validate
from ocisd.directory import Directory

from .backends import Base, GroupRecord


class GroupDirectory(Directory[GroupRecord, Base]):
    noun = "group"

    async def create(self, name: str, display_name: str = "") -> GroupRecord:
        validate(name, "group name")
        group = GroupRecord(str(uuid.uuid4()), name, display_name or name)
        await self.add(group, name)
        return group

    async def add_member(self, group_id: str, user_id: str) -> None:
        await self.get(group_id)
        if not user_id:
            raise InvalidValue("user_id is required")
        await self._run(self._backend.add_member, group_id, user_id)

    async def remove_member(self, group_id: str, user_id: str) -> None:
        await self.get(group_id)
        if not await self._run(self._backend.remove_member, group_id, user_id):
            raise NotFound(f"user {user_id!r} is not a member of group {group_id!r}")

    async def members(self, group_id: str) -> list[str]:
        await self.get(group_id)
        return await self._run(self._backend.members, group_id)

    async def groups_of(self, user_id: str) -> list[GroupRecord]:
        return await self._run(self._backend.groups_of, user_id)

    async def forget_user(self, user_id: str) -> None:
        await self._run(self._backend.forget_user, user_id)
