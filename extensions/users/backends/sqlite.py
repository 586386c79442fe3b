"""The default user backend: one SQLite file in the extension's data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from . import Base, NameTaken, TokenRecord, UserRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS app_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    expires REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS app_tokens_user ON app_tokens(user_id);
"""
USER_COLUMNS = "id, username, display_name, email, enabled, created, password_hash"
TOKEN_COLUMNS = "id, user_id, label, created, expires"


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (and create) a database used from the event loop thread only; queries are short."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    path.chmod(0o600)
    return db


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching values that contain `query` literally."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _user(row: Any) -> UserRecord | None:
    if row is None:
        return None
    return UserRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


def _token(row: Any) -> TokenRecord | None:
    return None if row is None else TokenRecord(*row)


class SqliteBackend(Base):
    def __init__(self, config: Any, data_dir: Path) -> None:
        super().__init__(config, data_dir)
        self._db = connect(data_dir / "users.db", SCHEMA)

    def add(self, user: UserRecord, name_key: str) -> None:
        try:
            self._db.execute(
                f"INSERT INTO users (name_key, {USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name_key,
                    user.id,
                    user.username,
                    user.display_name,
                    user.email,
                    int(user.enabled),
                    user.created,
                    user.password_hash,
                ),
            )
        except sqlite3.IntegrityError:
            raise NameTaken(user.username) from None

    def get(self, user_id: str) -> UserRecord | None:
        return _user(self._db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone())

    def by_name(self, name_key: str) -> UserRecord | None:
        return _user(self._db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE name_key = ?", (name_key,)).fetchone())

    def find(self, query: str) -> list[UserRecord]:
        like = like_pattern(query)
        rows = self._db.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE username LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\'"
            " OR email LIKE ?1 ESCAPE '\\' ORDER BY name_key",
            (like,),
        )
        return [u for u in map(_user, rows) if u is not None]

    def update(self, user_id: str, display_name: str | None, email: str | None) -> bool:
        cur = self._db.execute(
            "UPDATE users SET display_name = coalesce(?, display_name), email = coalesce(?, email) WHERE id = ?",
            (display_name, email, user_id),
        )
        return cur.rowcount > 0

    def set_password_hash(self, user_id: str, password_hash: str) -> bool:
        return (
            self._db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)).rowcount > 0
        )

    def set_enabled(self, user_id: str, enabled: bool) -> bool:
        return self._db.execute("UPDATE users SET enabled = ? WHERE id = ?", (int(enabled), user_id)).rowcount > 0

    def delete(self, user_id: str) -> bool:
        return self._db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    def add_token(self, token: TokenRecord, secret_hash: str) -> None:
        self._db.execute(
            f"INSERT INTO app_tokens (secret_hash, {TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (secret_hash, token.id, token.user_id, token.label, token.created, token.expires),
        )

    def tokens(self, user_id: str) -> list[TokenRecord]:
        rows = self._db.execute(
            f"SELECT {TOKEN_COLUMNS} FROM app_tokens WHERE user_id = ? ORDER BY created", (user_id,)
        )
        return [t for t in map(_token, rows) if t is not None]

    def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        row = self._db.execute(f"SELECT {TOKEN_COLUMNS} FROM app_tokens WHERE secret_hash = ?", (secret_hash,))
        return _token(row.fetchone())

    def delete_token(self, token_id: str) -> TokenRecord | None:
        found = _token(self._db.execute(f"SELECT {TOKEN_COLUMNS} FROM app_tokens WHERE id = ?", (token_id,)).fetchone())
        if found is not None:
            self._db.execute("DELETE FROM app_tokens WHERE id = ?", (token_id,))
        return found

    def close(self) -> None:
        self._db.close()
