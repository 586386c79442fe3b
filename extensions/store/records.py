"""The records: one SQLite table (WAL, fsync on every commit) in the store's data dir.

Expiry is checked on every read and list, so an expired record is gone the
moment it expires; `sweep` only reclaims the rows. Versions guard a live
record against lost updates; a key deleted or expired starts again at 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ocisd.directory.sqlite import connect, transaction

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


@dataclass(frozen=True)
class Record:
    namespace: str
    key: str
    value: bytes
    expires: float  # unix seconds; 0 = never
    version: int


class VersionMismatch(Exception):
    """`expect_version` differs from the record's version."""


def _live(now: float) -> str:
    return f"(expires = 0 OR expires > {now!r})"


class Records:
    def __init__(self, path: Path) -> None:
        self._db = connect(path, SCHEMA)
        self._db.execute("PRAGMA synchronous=FULL")  # an answered Write survives a power cut

    def read(self, namespace: str, key: str) -> Record | None:
        row = self._db.execute(
            f"SELECT value, expires, version FROM records WHERE namespace = ? AND key = ? AND {_live(time.time())}",
            (namespace, key),
        ).fetchone()
        return None if row is None else Record(namespace, key, bytes(row[0]), row[1], row[2])

    def write(self, namespace: str, key: str, value: bytes, ttl: float, expect_version: int) -> Record:
        now = time.time()
        expires = now + ttl if ttl > 0 else 0.0
        with transaction(self._db):
            current = self.read(namespace, key)
            if expect_version > 0 and (current is None or current.version != expect_version):
                have = current.version if current else 0
                raise VersionMismatch(f"record is at version {have}, not {expect_version}")
            version = (current.version if current else 0) + 1
            self._db.execute(
                "INSERT INTO records (namespace, key, value, expires, version) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                " expires = excluded.expires, version = excluded.version",
                (namespace, key, value, expires, version),
            )
        return Record(namespace, key, value, expires, version)

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
