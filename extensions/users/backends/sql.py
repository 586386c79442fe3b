"""The built-in user backends: one SQLite file in the extension's data dir (default), or PostgreSQL schema `users`."""

from __future__ import annotations

from typing import Any

from ocisd import sql
from ocisd.directory.sql import SqlDirectory, Tables

from . import Base, TokenRecord, UserRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS app_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS app_tokens_user ON app_tokens(user_id);
"""
TABLES = Tables("users.db", SCHEMA, "users", (sql.Step(1, "users and app tokens", SCHEMA),))
TOKEN_COLUMNS = "id, user_id, label, created, expires"


def _token(row: Any) -> TokenRecord | None:
    return None if row is None else TokenRecord(*row)


class SqliteBackend(SqlDirectory[UserRecord], Base):
    tables, table = TABLES, "users"
    columns = ("id", "username", "display_name", "email", "enabled", "created", "password_hash")
    name_column = "username"
    search = ("username", "display_name", "email")

    def record(self, row: Any) -> UserRecord:
        return UserRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])

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


class PostgresBackend(SqliteBackend):
    """The same tables and queries in PostgreSQL (USERS_DRIVER=postgres)."""

    engine = "postgres"
