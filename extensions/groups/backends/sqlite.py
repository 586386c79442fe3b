"""The default group backend: one SQLite file in the extension's data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from extensions.users.backends.sqlite import connect, like_pattern

from . import Base, GroupRecord, NameTaken

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


def _group(row: Any) -> GroupRecord | None:
    return None if row is None else GroupRecord(*row)


class SqliteBackend(Base):
    def __init__(self, config: Any, data_dir: Path) -> None:
        super().__init__(config, data_dir)
        self._db = connect(data_dir / "groups.db", SCHEMA)

    def add(self, group: GroupRecord, name_key: str) -> None:
        try:
            self._db.execute(
                "INSERT INTO groups (id, name, name_key, display_name) VALUES (?, ?, ?, ?)",
                (group.id, group.name, name_key, group.display_name),
            )
        except sqlite3.IntegrityError:
            raise NameTaken(group.name) from None

    def get(self, group_id: str) -> GroupRecord | None:
        return _group(
            self._db.execute("SELECT id, name, display_name FROM groups WHERE id = ?", (group_id,)).fetchone()
        )

    def by_name(self, name_key: str) -> GroupRecord | None:
        row = self._db.execute("SELECT id, name, display_name FROM groups WHERE name_key = ?", (name_key,))
        return _group(row.fetchone())

    def find(self, query: str) -> list[GroupRecord]:
        like = like_pattern(query)
        rows = self._db.execute(
            "SELECT id, name, display_name FROM groups WHERE name LIKE ?1 ESCAPE '\\'"
            " OR display_name LIKE ?1 ESCAPE '\\' ORDER BY name_key",
            (like,),
        )
        return [g for g in map(_group, rows) if g is not None]

    def delete(self, group_id: str) -> bool:
        return self._db.execute("DELETE FROM groups WHERE id = ?", (group_id,)).rowcount > 0

    def add_member(self, group_id: str, user_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO members (group_id, user_id) VALUES (?, ?)", (group_id, user_id))

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
        return [g for g in map(_group, rows) if g is not None]

    def forget_user(self, user_id: str) -> None:
        self._db.execute("DELETE FROM members WHERE user_id = ?", (user_id,))

    def close(self) -> None:
        self._db.close()
