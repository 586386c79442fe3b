"""The records: one table in SQLite (WAL, fsync on every commit) in the store's data dir, or in PostgreSQL
schema `store` (STORE_DRIVER=postgres); the same queries on both.

Expiry is checked on every read and list, so an expired record is gone the
moment it expires; `sweep` only reclaims the rows. Versions guard a live
record against lost updates; a key deleted or expired starts again at 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ocisd import sql
from ocisd.directory.sql import Tables, open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires REAL NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expires ON records(expires) WHERE expires > 0;
"""
# Keys compare byte by byte (COLLATE "C") as in SQLite, so List pages the same on both.
POSTGRES = """
CREATE TABLE records (
    namespace TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX records_expires ON records(expires) WHERE expires > 0;
"""
TABLES = Tables("store.db", SCHEMA, "store", (sql.Step(1, "records", POSTGRES),))
DRIVERS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Record:
    namespace: str
    key: str
    value: bytes
    expires: float  # unix seconds; 0 = never
    version: int


class VersionMismatch(Exception):
    """`expect_version` differs from the record's version."""


def _live(now: float, table: str = "") -> str:
    return f"({table}expires = 0 OR {table}expires > {now!r})"


class Records:
    def __init__(self, driver: str, data_dir: Path, dsn: str = "") -> None:
        self._db = open_db(driver, TABLES, data_dir, dsn)
        if driver == "sqlite":
            self._db.execute("PRAGMA synchronous=FULL")  # an answered Write survives a power cut

    def read(self, namespace: str, key: str) -> Record | None:
        row = self._db.execute(
            f"SELECT value, expires, version FROM records WHERE namespace = ? AND key = ? AND {_live(time.time())}",
            (namespace, key),
        ).fetchone()
        return None if row is None else Record(namespace, key, bytes(row[0]), row[1], row[2])

    def write(self, namespace: str, key: str, value: bytes, ttl: float, expect_version: int) -> Record:
        # One statement each, so two store instances on one PostgreSQL never lose an update.
        # fetchall(): SQLite keeps a RETURNING statement (and its write lock) open until stepped through.
        now = time.time()
        expires = now + ttl if ttl > 0 else 0.0
        if expect_version > 0:
            rows = self._db.execute(
                "UPDATE records SET value = ?, expires = ?, version = version + 1"
                f" WHERE namespace = ? AND key = ? AND version = ? AND {_live(now)} RETURNING version",
                (value, expires, namespace, key, expect_version),
            ).fetchall()
            if not rows:
                current = self.read(namespace, key)
                have = current.version if current else 0
                raise VersionMismatch(f"record is at version {have}, not {expect_version}")
        else:
            rows = self._db.execute(
                "INSERT INTO records (namespace, key, value, expires, version) VALUES (?, ?, ?, ?, 1)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires,"
                f" version = CASE WHEN {_live(now, 'records.')} THEN records.version + 1 ELSE 1 END RETURNING version",
                (namespace, key, value, expires),
            ).fetchall()
        return Record(namespace, key, value, expires, rows[0][0])

    def delete(self, namespace: str, key: str) -> bool:
        cur = self._db.execute(
            f"DELETE FROM records WHERE namespace = ? AND key = ? AND {_live(time.time())}", (namespace, key)
        )
        return cur.rowcount > 0

    def list(self, namespace: str, prefix: str, after: str, limit: int, values: bool) -> tuple[list[Record], bool]:
        """Up to `limit` live records with keys starting with `prefix`, after `after`; and whether more follow."""
        column = "value" if values else "substr(value, 1, 0)"
        rows = self._db.execute(
            f"SELECT key, {column}, expires, version FROM records"
            f" WHERE namespace = ? AND key > ? AND substr(key, 1, ?) = ? AND {_live(time.time())}"
            " ORDER BY key LIMIT ?",
            (namespace, after, len(prefix), prefix, limit + 1),
        ).fetchall()
        found = [Record(namespace, k, bytes(v), e, ver) for k, v, e, ver in rows[:limit]]
        return found, len(rows) > limit

    def sweep(self) -> int:
        """Delete the expired rows."""
        cur = self._db.execute("DELETE FROM records WHERE expires > 0 AND expires <= ?", (time.time(),))
        return cur.rowcount

    def close(self) -> None:
        self._db.close()
