"""Groups and memberships: names validated like usernames, unique case-insensitively."""

from __future__ import annotations

import uuid

from extensions.users.accounts import InvalidValue, NotFound
from extensions.users.names import key, validate

from .backends import Base, GroupRecord


class Directory:
    def __init__(self, backend: Base) -> None:
        self._backend = backend

    def create(self, name: str, display_name: str = "") -> GroupRecord:
        validate(name, "group name")
        group = GroupRecord(str(uuid.uuid4()), name, display_name or name)
        self._backend.add(group, key(name))
        return group

    def get(self, group_id: str) -> GroupRecord:
        group = self._backend.get(group_id)
        if group is None:
            raise NotFound(f"no group with id {group_id!r}")
        return group

    def by_name(self, name: str) -> GroupRecord:
        group = self._backend.by_name(key(name))
        if group is None:
            raise NotFound(f"no group named {name!r}")
        return group

    def find(self, query: str) -> list[GroupRecord]:
        return self._backend.find(query)

    def delete(self, group_id: str) -> None:
        if not self._backend.delete(group_id):
            raise NotFound(f"no group with id {group_id!r}")

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
