"""The built-in share stores: one SQLite file (WAL) in the extension's data dir (default), or PostgreSQL schema
`sharing`; the same queries on both."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ocisd import sql
from ocisd.directory.sql import Tables, open_db, transaction

from . import ACCEPTED, PENDING, Duplicate, Received, ShareRecord, ShareStore, unique_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    share_type BIGINT NOT NULL,
    resource_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    grantee_id TEXT NOT NULL,
    permissions BIGINT NOT NULL,
    ctime BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    token TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_folder BIGINT NOT NULL,
    parent_share_id TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS shares_grantee ON shares(resource_id, share_type, grantee_id)
    WHERE share_type IN (0, 1);
CREATE UNIQUE INDEX IF NOT EXISTS shares_token ON shares(token) WHERE token != '';
CREATE INDEX IF NOT EXISTS shares_creator ON shares(creator_id);
CREATE INDEX IF NOT EXISTS shares_owner ON shares(owner_id);
CREATE INDEX IF NOT EXISTS shares_to ON shares(grantee_id);
CREATE TABLE IF NOT EXISTS received (
    share_id BIGINT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    state BIGINT NOT NULL,
    mount_point TEXT NOT NULL,
    PRIMARY KEY (share_id, user_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS received_mount ON received(user_id, mount_point) WHERE state = 1;
"""

TABLES = Tables("shares.db", SCHEMA, "sharing", (sql.Step(1, "shares and recipient states", sql.ddl(SCHEMA)),))
FIELDS = [f.name for f in dataclasses.fields(ShareRecord)]
COLUMNS = ", ".join(f"s.{f}" for f in FIELDS)
CHANGEABLE = {"permissions", "expires", "password_hash", "name"}


def _share(row: Sequence[Any]) -> ShareRecord:
    values = dict(zip(FIELDS, row))
    values["id"] = str(values["id"])
    values["is_folder"] = bool(values["is_folder"])
    return ShareRecord(**values)


def _id(share_id: str) -> int:
    """Share ids are integers; anything else matches no share."""
    return int(share_id) if share_id.isdigit() else -1


class SqliteStore(ShareStore):
    engine = "sqlite"

    def __init__(self, config: Any, data_dir: Path, dsn: str = "") -> None:
        super().__init__(config, data_dir, dsn)
        self._db = open_db(self.engine, TABLES, data_dir, dsn)

    def _select(self, where: str, args: Sequence[Any]) -> list[ShareRecord]:
        rows = self._db.execute(f"SELECT {COLUMNS} FROM shares s WHERE {where} ORDER BY s.id", args)
        return [_share(r) for r in rows]

    def add(self, share: ShareRecord) -> ShareRecord:
        values = dataclasses.asdict(share)
        del values["id"]
        values["is_folder"] = int(share.is_folder)
        marks = ", ".join("?" * len(values))
        try:
            rows = self._db.execute(  # fetchall(): SQLite ends a RETURNING statement only when stepped through
                f"INSERT INTO shares ({', '.join(values)}) VALUES ({marks}) RETURNING id", list(values.values())
            ).fetchall()
        except sqlite3.IntegrityError as exc:
            raise Duplicate(str(exc)) from None
        return dataclasses.replace(share, id=str(rows[0][0]))

    def get(self, share_id: str) -> ShareRecord | None:
        found = self._select("s.id = ?", (_id(share_id),))
        return found[0] if found else None

    def by_token(self, token: str) -> ShareRecord | None:
        found = self._select("s.token = ? AND s.token != ''", (token,))
        return found[0] if found else None

    def update(self, share_id: str, changes: dict[str, Any]) -> ShareRecord | None:
        if not set(changes) <= CHANGEABLE:
            raise ValueError(f"cannot change {sorted(set(changes) - CHANGEABLE)}")
        if changes:
            assignments = ", ".join(f"{k} = ?" for k in changes)
            self._db.execute(f"UPDATE shares SET {assignments} WHERE id = ?", [*changes.values(), _id(share_id)])
        return self.get(share_id)

    def remove(self, share_id: str) -> ShareRecord | None:
        with transaction(self._db):
            found = self.get(share_id)
            if found is not None:
                self._db.execute("DELETE FROM shares WHERE id = ?", (_id(share_id),))
        return found

    def reshares_of(self, share_id: str) -> list[ShareRecord]:
        return self._select("s.parent_share_id = ?", (share_id,))

    def forget_user(self, user_id: str) -> list[ShareRecord]:
        with transaction(self._db):
            found = self._select("s.share_type = 0 AND s.grantee_id = ?", (user_id,))
            self._db.execute("DELETE FROM shares WHERE share_type = 0 AND grantee_id = ?", (user_id,))
            self._db.execute("DELETE FROM received WHERE user_id = ?", (user_id,))
        return found

    def remove_resources(self, resource_ids: Sequence[str]) -> list[ShareRecord]:
        if not resource_ids:
            return []
        marks = ", ".join("?" * len(resource_ids))
        with transaction(self._db):
            found = self._select(f"s.resource_id IN ({marks})", resource_ids)
            self._db.execute(f"DELETE FROM shares WHERE resource_id IN ({marks})", resource_ids)
        return found

    def created(
        self, user_id: str, with_owned: bool, resource_ids: Sequence[str], types: Sequence[int]
    ) -> list[ShareRecord]:
        where = "(s.creator_id = ? OR s.owner_id = ?)" if with_owned else "s.creator_id = ?"
        args: list[Any] = [user_id, user_id] if with_owned else [user_id]
        if resource_ids:
            where += f" AND s.resource_id IN ({', '.join('?' * len(resource_ids))})"
            args += list(resource_ids)
        if types:
            where += f" AND s.share_type IN ({', '.join('?' * len(types))})"
            args += list(types)
        return self._select(where, args)

    def received(self, user_id: str, group_ids: Sequence[str]) -> list[Received]:
        groups = ", ".join("?" * len(group_ids)) or "NULL"  # PostgreSQL has no empty IN ()
        rows = self._db.execute(
            f"SELECT {COLUMNS}, r.state, r.mount_point FROM shares s"
            " LEFT JOIN received r ON r.share_id = s.id AND r.user_id = ?"
            " WHERE s.creator_id != ? AND ((s.share_type = 0 AND s.grantee_id = ?)"
            f" OR (s.share_type = 1 AND s.grantee_id IN ({groups}))) ORDER BY s.id",
            [user_id, user_id, user_id, *group_ids],
        )
        out = []
        for row in rows:
            share = _share(row[: len(FIELDS)])
            state, mount = row[len(FIELDS) :]
            out.append(Received(share, PENDING if state is None else state, mount or share.target))
        return out

    def answer(self, share_id: str, user_id: str, state: int, wanted: str) -> Received | None:
        # PostgreSQL (read committed) lets another instance commit between our look and our write:
        # a removal of the share (then it is gone), or an accept taking the same mount point (look again).
        tries = 3
        while True:
            try:
                return self._answer(share_id, user_id, state, wanted)
            except sqlite3.IntegrityError:
                tries -= 1
                if self.get(share_id) is None:
                    return None
                if not tries:
                    raise

    def _answer(self, share_id: str, user_id: str, state: int, wanted: str) -> Received | None:
        with transaction(self._db) as db:
            share = self.get(share_id)
            if share is None:
                return None
            row = db.execute(
                "SELECT mount_point FROM received WHERE share_id = ? AND user_id = ?", (_id(share_id), user_id)
            ).fetchone()
            mount = wanted or (row[0] if row else "") or share.target
            if state == ACCEPTED:
                taken = db.execute(
                    "SELECT mount_point FROM received WHERE user_id = ? AND state = ? AND share_id != ?",
                    (user_id, ACCEPTED, _id(share_id)),
                )
                mount = unique_name(mount, {r[0] for r in taken})
            db.execute(
                "INSERT INTO received (share_id, user_id, state, mount_point) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (share_id, user_id) DO UPDATE SET state = excluded.state,"
                " mount_point = excluded.mount_point",
                (_id(share_id), user_id, state, mount),
            )
        return Received(share, state, mount)

    def close(self) -> None:
        self._db.close()


class PostgresStore(SqliteStore):
    """The same tables and queries in PostgreSQL (SHARING_DRIVER=postgres)."""

    engine = "postgres"
