"""The built-in group backends: one SQLite file in the extension's data dir (default), or PostgreSQL schema `groups`."""

from __future__ import annotations

from typing import Any

from ocisd import sql
from ocisd.directory.sql import SqlDirectory, Tables

from . import Base, GroupRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_user ON members(user_id);
"""
TABLES = Tables("groups.db", SCHEMA, "groups", (sql.Step(1, "groups and members", SCHEMA),))


class SqliteBackend(SqlDirectory[GroupRecord], Base):
    tables, table = TABLES, "groups"
    columns = ("id", "name", "display_name")
    name_column = "name"
    search = ("name", "display_name")

    def record(self, row: Any) -> GroupRecord:
        return GroupRecord(*row)

    def add_member(self, group_id: str, user_id: str) -> None:
        self._db.execute(
            "INSERT INTO members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (group_id, user_id)
        )

    def remove_member(self, group_id: str, user_id: str) -> bool:
        cur = self._db.execute("DELETE FROM members WHERE group_id = ? AND user_id = ?", (group_id, user_id))
        return cur.rowcount > 0

    def members(self, group_id: str) -> list[str]:
        rows = self._db.execute("SELECT user_id FROM members WHERE group_id = ? ORDER BY user_id", (group_id,))
        return [r[0] for r in rows]

    def groups_of(self, user_id: str) -> list[GroupRecord]:
        rows = self._db.execute(
            "SELECT g.id, g.name, g.display_name FROM groups g JOIN members m ON m.group_id = g.id"
            " WHERE m.user_id = ? ORDER BY g.name_key",
            (user_id,),
        )
        return [self.record(row) for row in rows]

    def forget_user(self, user_id: str) -> None:
        self._db.execute("DELETE FROM members WHERE user_id = ?", (user_id,))


class PostgresBackend(SqliteBackend):
    """The same tables and queries in PostgreSQL (GROUPS_DRIVER=postgres)."""

    engine = "postgres"
