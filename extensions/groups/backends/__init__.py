"""The group backend extension point: a `Base` class and `load(config, data_dir)` (see users.backends)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extensions.users.backends import NameTaken
from ocisd.plugins import load_class

BUILTIN = {"sqlite": "extensions.groups.backends.sqlite:SqliteBackend"}

__all__ = ["Base", "GroupRecord", "NameTaken", "load"]


@dataclass(frozen=True)
class GroupRecord:
    id: str
    name: str
    display_name: str


class Base(ABC):
    def __init__(self, config: Any, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir

    @abstractmethod
    def add(self, group: GroupRecord, name_key: str) -> None:
        """Store a new group; NameTaken when the name_key exists."""

    @abstractmethod
    def get(self, group_id: str) -> GroupRecord | None: ...

    @abstractmethod
    def by_name(self, name_key: str) -> GroupRecord | None: ...

    @abstractmethod
    def find(self, query: str) -> list[GroupRecord]: ...

    @abstractmethod
    def delete(self, group_id: str) -> bool: ...

    @abstractmethod
    def add_member(self, group_id: str, user_id: str) -> None:
        """Idempotent."""

    @abstractmethod
    def remove_member(self, group_id: str, user_id: str) -> bool: ...

    @abstractmethod
    def members(self, group_id: str) -> list[str]: ...

    @abstractmethod
    def groups_of(self, user_id: str) -> list[GroupRecord]: ...

    @abstractmethod
    def forget_user(self, user_id: str) -> None:
        """Drop a deleted user from every group."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def load(config: Any, data_dir: Path) -> Base:
    cls = load_class(config.driver, BUILTIN, Base, "groups.driver", "a group backend")
    backend: Base = cls(config, data_dir)
    return backend
