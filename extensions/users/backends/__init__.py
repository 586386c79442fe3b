"""The user backend extension point: a `Base` class and `load(config, data_dir)`.

`driver = "sqlite"` picks the built-in; `driver = "package.module:Class"` loads
a third party's subclass of `Base` (e.g. an LDAP backend), so callers never
change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisd.plugins import load_class

BUILTIN = {"sqlite": "extensions.users.backends.sqlite:SqliteBackend"}


class NameTaken(Exception):
    """The username (compared case-insensitively) or the id already exists."""


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    display_name: str
    email: str
    enabled: bool
    created: float
    password_hash: str  # stays inside the users extension


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user_id: str
    label: str
    created: float
    expires: float  # 0: never


class Base(ABC):
    """What a user backend stores. Names are validated by the caller; `name_key` is their case-folded form."""

    def __init__(self, config: Any, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir

    @abstractmethod
    def add(self, user: UserRecord, name_key: str) -> None:
        """Store a new user; NameTaken when the id or name_key exists."""

    @abstractmethod
    def get(self, user_id: str) -> UserRecord | None: ...

    @abstractmethod
    def by_name(self, name_key: str) -> UserRecord | None: ...

    @abstractmethod
    def find(self, query: str) -> list[UserRecord]:
        """Users whose username, display name or email contains `query` (all when empty), by username."""

    @abstractmethod
    def update(self, user_id: str, display_name: str | None, email: str | None) -> bool:
        """Change the fields that are not None; False when there is no such user."""

    @abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str) -> bool: ...

    @abstractmethod
    def set_enabled(self, user_id: str, enabled: bool) -> bool: ...

    @abstractmethod
    def delete(self, user_id: str) -> bool:
        """Remove the user and its app tokens; False when there was none."""

    @abstractmethod
    def add_token(self, token: TokenRecord, secret_hash: str) -> None: ...

    @abstractmethod
    def tokens(self, user_id: str) -> list[TokenRecord]: ...

    @abstractmethod
    def token_by_hash(self, secret_hash: str) -> TokenRecord | None: ...

    @abstractmethod
    def delete_token(self, token_id: str) -> TokenRecord | None: ...

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def load(config: Any, data_dir: Path) -> Base:
    cls = load_class(config.driver, BUILTIN, Base, "users.driver", "a user backend")
    backend: Base = cls(config, data_dir)
    return backend
