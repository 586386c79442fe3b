"""The user backend extension point: a `Base` class and `load(config, data_dir)`.

`driver = "sqlite"` (or "postgres") picks a built-in; `driver = "package.module:Class"` loads
a third party's subclass of `Base` (e.g. an LDAP backend), so callers never
change. What every directory backend stores (add, get, by_name, find, delete,
close) is declared by `ocisd.directory.Backend`; a user backend adds passwords,
the enabled flag and app tokens.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisd import directory
from ocisd.api.identity.v1.contract import NameTaken

BUILTIN = {
    "sqlite": "extensions.users.backends.sql:SqliteBackend",
    "postgres": "extensions.users.backends.sql:PostgresBackend",
}

__all__ = ["Base", "NameTaken", "TokenRecord", "UserRecord", "check", "load"]


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


class Base(directory.Backend[UserRecord]):
    """What a user backend stores; `find` searches username, display name and email, and `delete` app tokens too."""

    @abstractmethod
    def update(self, user_id: str, display_name: str | None, email: str | None) -> bool:
        """Change the fields that are not None; False when there is no such user."""

    @abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str) -> bool: ...

    @abstractmethod
    def set_enabled(self, user_id: str, enabled: bool) -> bool: ...

    @abstractmethod
    def add_token(self, token: TokenRecord, secret_hash: str) -> None: ...

    @abstractmethod
    def tokens(self, user_id: str) -> list[TokenRecord]: ...

    @abstractmethod
    def token_by_hash(self, secret_hash: str) -> TokenRecord | None: ...

    @abstractmethod
    def delete_token(self, token_id: str) -> TokenRecord | None: ...


def check(config: Any) -> None:
    """Refuse a `driver` that names no user backend (ConfigError)."""
    directory.backend_class(config, Base, BUILTIN, "user")


def load(config: Any, data_dir: Path, dsn: str) -> Base:
    backend: Base = directory.load(config, data_dir, dsn, Base, BUILTIN, "user")
    return backend
