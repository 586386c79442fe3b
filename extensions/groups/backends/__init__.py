"""The group backend extension point: a `Base` class and `load(config, data_dir)` (see users.backends).

What every directory backend stores is declared by `ocisd.directory.Backend`; a
group backend adds memberships.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisd import directory
from ocisd.api.identity.v1.contract import NameTaken

BUILTIN = {
    "sqlite": "extensions.groups.backends.sql:SqliteBackend",
    "postgres": "extensions.groups.backends.sql:PostgresBackend",
}

__all__ = ["Base", "GroupRecord", "NameTaken", "check", "load"]


@dataclass(frozen=True)
class GroupRecord:
    id: str
    name: str
    display_name: str


class Base(directory.Backend[GroupRecord]):
    """What a group backend stores; `find` searches name and display name, and `delete` drops the memberships."""

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


def check(config: Any) -> None:
    """Refuse a `driver` that names no group backend (ConfigError)."""
    directory.backend_class(config, Base, BUILTIN, "group")


def load(config: Any, data_dir: Path, dsn: str) -> Base:
    backend: Base = directory.load(config, data_dir, dsn, Base, BUILTIN, "group")
    return backend
