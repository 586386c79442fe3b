"""The share store extension point: `ShareStore` and `load(config, data_dir)`.

SQLite and PostgreSQL are built in (`driver` sqlite or postgres), with the same queries.
Every change is one transaction, so a concurrent accept and revoke end in one
consistent state: either the share is gone with every recipient's state, or the
accept found no share and changed nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisd.plugins import load_class

BUILTIN = {
    "sqlite": "extensions.sharing.stores.sql:SqliteStore",
    "postgres": "extensions.sharing.stores.sql:PostgresStore",
}

# ShareState numbers of the proto.
PENDING, ACCEPTED, DECLINED = 0, 1, 2


@dataclass(frozen=True)
class ShareRecord:
    id: str
    share_type: int
    resource_id: str
    is_folder: bool
    target: str  # the resource's name when shared: a recipient's first mount point
    owner_id: str
    creator_id: str
    parent_share_id: str
    grantee_id: str
    permissions: int
    expires: int
    ctime: int
    token: str
    name: str
    password_hash: str


@dataclass(frozen=True)
class Received:
    share: ShareRecord
    state: int
    mount_point: str


class Duplicate(Exception):
    """The grantee already has a share of this resource (or the token is taken)."""


class ShareStore(ABC):
    def __init__(self, config: Any, data_dir: Path, dsn: str = "") -> None:
        """`dsn`: the extension's PostgreSQL DSN (its own or OCIS_POSTGRES_DSN), empty when none is set."""
        self.config = config

    @abstractmethod
    def add(self, share: ShareRecord) -> ShareRecord:
        """Store a new share (its `id` is ignored) and return it with its id; Duplicate when one
        share of the resource already goes to the same user or group, or the token is taken."""

    @abstractmethod
    def get(self, share_id: str) -> ShareRecord | None: ...

    @abstractmethod
    def by_token(self, token: str) -> ShareRecord | None: ...

    @abstractmethod
    def update(self, share_id: str, changes: dict[str, Any]) -> ShareRecord | None:
        """Change some fields (`permissions`, `expires`, `password_hash`, `name`) of a share."""

    @abstractmethod
    def remove(self, share_id: str) -> ShareRecord | None:
        """Remove a share and every recipient's state of it; the removed share or None."""

    @abstractmethod
    def reshares_of(self, share_id: str) -> list[ShareRecord]:
        """The shares made through `share_id` (whose parent_share_id it is)."""

    @abstractmethod
    def remove_resources(self, resource_ids: Sequence[str]) -> list[ShareRecord]:
        """Remove every share of these resources; the removed shares."""

    @abstractmethod
    def forget_user(self, user_id: str) -> list[ShareRecord]:
        """Remove the user shares to a deleted user and the user's states of group shares; the removed shares."""

    @abstractmethod
    def created(
        self, user_id: str, with_owned: bool, resource_ids: Sequence[str], types: Sequence[int]
    ) -> list[ShareRecord]:
        """Shares `user_id` created (and, `with_owned`, all of resources they own), filtered when
        `resource_ids` / `types` are not empty."""

    @abstractmethod
    def received(self, user_id: str, group_ids: Sequence[str]) -> list[Received]:
        """User shares to `user_id` and group shares to `group_ids` (not those `user_id` created),
        with the user's state (PENDING and the share's target when they never answered)."""

    @abstractmethod
    def answer(self, share_id: str, user_id: str, state: int, wanted: str) -> Received | None:
        """Set the user's state of a share; on ACCEPTED its mount point becomes `wanted` made unique
        among the user's accepted shares. None when the share is gone."""

    @abstractmethod
    def close(self) -> None: ...


def unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted (2)`, `wanted (3)`, ... (before a file's extension) when taken."""
    if wanted not in taken:
        return wanted
    stem, dot, ext = wanted.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (wanted, "")
    n = 2
    while f"{stem} ({n}){ext}" in taken:
        n += 1
    return f"{stem} ({n}){ext}"


def store_class(config: Any) -> type[ShareStore]:
    """The store `config.driver` names; ConfigError (exit 2 from `check`) when it names none."""
    return load_class(config.driver, BUILTIN, ShareStore, "sharing.driver", "a share store")


def load(config: Any, data_dir: Path, dsn: str = "") -> ShareStore:
    return store_class(config)(config, data_dir, dsn)
