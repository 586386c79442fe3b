"""Kept revisions of files: the schema, the queries, and retention (count limit, time ladder, quota).

An overwrite turns the file's current revision into a version row that names
its blob; blobs are immutable per revision, so keeping one copies nothing. A
version row is the blob's only reference once kept (the garbage collector
counts it). Like `tree`, every function here runs inside the caller's
transaction and nothing commits; the functions that drop rows return the blob
names that became garbage, for the caller to mark and collect.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ocisd.storage.resources import Node, Version

from . import tree

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions(
  node TEXT NOT NULL, key TEXT NOT NULL, space TEXT NOT NULL, blob TEXT NOT NULL,
  size BIGINT NOT NULL, mtime BIGINT NOT NULL, etag TEXT NOT NULL, sha1 TEXT NOT NULL,
  md5 TEXT NOT NULL, adler32 TEXT NOT NULL, created BIGINT NOT NULL, edited_by TEXT NOT NULL,
  PRIMARY KEY(node, key));
CREATE INDEX IF NOT EXISTS versions_blob ON versions(blob);
CREATE INDEX IF NOT EXISTS versions_space ON versions(space, created);
"""
_COLUMNS = "key, size, mtime, etag, sha1, md5, adler32, created, edited_by, blob"
HOUR = 3600 * 10**9
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY


@dataclass(frozen=True)
class Policy:
    """What the driver keeps: `enabled` off drops old revisions as before versions existed;
    `max_count` per file (0 = no limit); `ladder` thins old versions (see `expired`);
    `count_quota` makes versions count against the space's quota. `clock` is ns since the epoch."""

    enabled: bool = True
    max_count: int = 0
    ladder: bool = True
    count_quota: bool = False
    clock: Callable[[], int] = field(default=time.time_ns, compare=False)


def _version(row: tuple[str, int, int, str, str, str, str, int, str, str]) -> Version:
    return Version(*row)


def listing(db: sqlite3.Connection, node_id: str) -> list[Version]:
    """The file's versions, newest first."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM versions WHERE node=? ORDER BY created DESC, rowid DESC", (node_id,))
    return [_version(r) for r in rows]


def get(db: sqlite3.Connection, node_id: str, key: str) -> Version | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM versions WHERE node=? AND key=?", (node_id, key)).fetchone()
    return _version(row) if row else None


def supersede(db: sqlite3.Connection, old: Node, policy: Policy) -> list[str]:
    """`old` (the file before this change) is replaced: keep its revision as a version, apply retention;
    returns the blobs now garbage (the old revision's own with versions off)."""
    if not old.rev:
        return []  # an empty file made by LOCK has no bytes to keep
    blob = tree.blob_name(old.id, old.rev)
    if not policy.enabled:
        return [blob]
    owner = db.execute("SELECT owner FROM spaces WHERE id=?", (old.space,)).fetchone()
    # Personal spaces have one writer, their owner: the revision's author until shares let others write.
    # Delete + insert is INSERT OR REPLACE in both dialects (a fresh row, so the newest by rowid).
    db.execute("DELETE FROM versions WHERE node=? AND key=?", (old.id, old.rev))
    db.execute(
        "INSERT INTO versions VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
        (old.id, old.rev, old.space, blob, old.size, old.mtime, old.etag, old.sha1, old.md5, old.adler32,
         policy.clock(), owner[0] if owner else ""),
    )  # fmt: skip
    return prune(db, old.id, policy)


def drop(db: sqlite3.Connection, node_id: str, key: str) -> list[str]:
    """Forget one version; returns its blob (none if there was no such version)."""
    return [r[0] for r in db.execute("DELETE FROM versions WHERE node=? AND key=? RETURNING blob", (node_id, key))]


def hand_over(db: sqlite3.Connection, old_node: str, new_node: str, policy: Policy) -> list[str]:
    """A file replaced by another (MOVE or COPY onto it): the newcomer inherits its versions."""
    # UPDATE OR REPLACE in both dialects: the newcomer's versions of the same key give way.
    db.execute(
        "DELETE FROM versions WHERE node=? AND key IN (SELECT key FROM versions WHERE node=?)", (new_node, old_node)
    )
    db.execute("UPDATE versions SET node=? WHERE node=?", (new_node, old_node))
    return prune(db, new_node, policy)


def drop_nodes(db: sqlite3.Connection, node_ids: Iterable[str]) -> list[str]:
    """Delete every version of these nodes (they leave the tree for good); returns their blobs."""
    blobs: list[str] = []
    for node_id in node_ids:
        blobs += [r[0] for r in db.execute("DELETE FROM versions WHERE node=? RETURNING blob", (node_id,))]
    return blobs


def referenced(db: sqlite3.Connection, blob: str) -> bool:
    return db.execute("SELECT 1 FROM versions WHERE blob=? LIMIT 1", (blob,)).fetchone() is not None


def space_bytes(db: sqlite3.Connection, space: str) -> int:
    return int(
        db.execute("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM versions WHERE space=?", (space,)).fetchone()[0]
    )


def expired(created: list[tuple[str, int]], now: int, policy: Policy) -> list[str]:
    """Keys (of `(key, created ns)` pairs, newest first among equal times) that retention drops.

    The ladder keeps every version of the last hour, the newest per hour of the
    last day, per day of the last month and per week before; then `max_count`
    keeps the newest that many.
    """
    kept: list[str] = []
    buckets: set[tuple[str, int]] = set()
    for key, at in sorted(created, key=lambda kc: kc[1], reverse=True):
        age = max(now - at, 0)
        if policy.ladder and age >= HOUR:
            step = HOUR if age < DAY else DAY if age < MONTH else WEEK
            bucket = (str(step), age // step)
            if bucket in buckets:
                continue
            buckets.add(bucket)
        kept.append(key)
    if policy.max_count > 0:
        kept = kept[: policy.max_count]
    keep_set = set(kept)
    return [key for key, _ in created if key not in keep_set]


def prune(db: sqlite3.Connection, node_id: str, policy: Policy) -> list[str]:
    """Apply retention to one file's versions; returns the blobs of the dropped ones."""
    rows = list(
        db.execute("SELECT key, created FROM versions WHERE node=? ORDER BY created DESC, rowid DESC", (node_id,))
    )
    blobs: list[str] = []
    for key in expired(rows, policy.clock(), policy):
        blobs += drop(db, node_id, key)
    return blobs


def fit_quota(db: sqlite3.Connection, space: str, default_quota: int, policy: Policy) -> list[str]:
    """With versions counted against the quota: drop the space's oldest versions until files and
    versions fit it. Versions never stop a write (the quota check counts files only): they yield."""
    if not policy.count_quota:
        return []
    total = tree.space_quota(db, space, default_quota)
    if total <= 0:
        return []
    used = tree.space_used(db, space) + space_bytes(db, space)
    blobs: list[str] = []
    rows = db.execute("SELECT node, key, size FROM versions WHERE space=? ORDER BY created, rowid", (space,)).fetchall()
    for node_id, key, size in rows:
        if used <= total:
            break
        blobs += drop(db, node_id, key)
        used -= size
    return blobs
