"""Groups and memberships: names validated like usernames, unique case-insensitively."""

from __future__ import annotations

import uuid

from ocisd.api.identity.v1.contract import InvalidValue, NotFound, validate
from ocisd.directory import Directory

from .backends import Base, GroupRecord


class GroupDirectory(Directory[GroupRecord, Base]):
    noun = "group"

    def create(self, name: str, display_name: str = "") -> GroupRecord:
        validate(name, "group name")
        group = GroupRecord(str(uuid.uuid4()), name, display_name or name)
        self.add(group, name)
        return group

    def add_member(self, group_id: str, user_id: str) -> None:
        self.get(group_id)
        if not user_id:
            raise InvalidValue("user_id is required")
        self._backend.add_member(group_id, user_id)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.get(group_id)
        if not self._backend.remove_member(group_id, user_id):
            raise NotFound(f"user {user_id!r} is not a member of group {group_id!r}")

    def members(self, group_id: str) -> list[str]:
        self.get(group_id)
        return self._backend.members(group_id)

    def groups_of(self, user_id: str) -> list[GroupRecord]:
        return self._backend.groups_of(user_id)

    def forget_user(self, user_id: str) -> None:
        self._backend.forget_user(user_id)
