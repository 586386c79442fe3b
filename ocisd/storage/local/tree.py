"""The node tree in SQLite (WAL): lookups, listing, inserts and propagation to the root.

All functions run inside the caller's transaction on one connection; nothing
here commits. Folder size is the recursive sum and is kept incrementally, so
`oc:size` and quota use never walk a subtree: a space's usage is its root's size.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ocisd.api.storage.v1 import errors
from ocisd.sql import functions
from ocisd.storage.resources import FOLDER, Node

from . import jobs, trash, versions

SCHEMA = """
CREATE TABLE IF NOT EXISTS spaces(
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, quota BIGINT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes(
  id TEXT PRIMARY KEY, space TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
  type BIGINT NOT NULL, size BIGINT NOT NULL, mtime BIGINT NOT NULL, etag TEXT NOT NULL,
  rev TEXT NOT NULL DEFAULT '', sha1 TEXT NOT NULL DEFAULT '', md5 TEXT NOT NULL DEFAULT '',
  adler32 TEXT NOT NULL DEFAULT '', mime TEXT NOT NULL DEFAULT '', props TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS nodes_children ON nodes(parent, name);
CREATE TABLE IF NOT EXISTS locks(
  token TEXT PRIMARY KEY, space TEXT NOT NULL, node TEXT NOT NULL, exclusive BIGINT NOT NULL,
  depth_inf BIGINT NOT NULL, owner TEXT NOT NULL, timeout BIGINT NOT NULL,
  expires BIGINT NOT NULL, "user" TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS locks_space ON locks(space);
CREATE TABLE IF NOT EXISTS blob_gc(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS grants(
  node TEXT NOT NULL, space TEXT NOT NULL, grantee_type TEXT NOT NULL, grantee TEXT NOT NULL,
  bits BIGINT NOT NULL, expires BIGINT NOT NULL, creator TEXT NOT NULL,
  PRIMARY KEY(node, grantee_type, grantee));
CREATE INDEX IF NOT EXISTS grants_space ON grants(space);
"""
# After the spaces table's columns exist (MIGRATIONS): a project space's members are the grants on its root.
INDEXES = """
CREATE INDEX IF NOT EXISTS spaces_type ON spaces(type);
CREATE INDEX IF NOT EXISTS grants_roots ON grants(grantee, grantee_type) WHERE node = space;
"""

COLUMNS = (
    "id, space, parent, name, type, size, mtime, etag, rev, sha1, md5, adler32, mime, props,"
    " status, downloadable, scan_status, scan_time, scan_partial"
)
# Added after the first release: existing databases get them at start; existing files are ready.
MIGRATIONS = {
    "status": "TEXT NOT NULL DEFAULT 'ready'",
    "downloadable": "BIGINT NOT NULL DEFAULT 1",
    "scan_status": "TEXT NOT NULL DEFAULT ''",
    "scan_time": "BIGINT NOT NULL DEFAULT 0",
    "scan_partial": "BIGINT NOT NULL DEFAULT 0",
}
# Spaces' columns added with project spaces: older spaces are personal ones.
SPACE_MIGRATIONS = {
    "type": "TEXT NOT NULL DEFAULT 'personal'",
    "name": "TEXT NOT NULL DEFAULT ''",
    "description": "TEXT NOT NULL DEFAULT ''",
    "alias": "TEXT NOT NULL DEFAULT ''",
    "disabled": "BIGINT NOT NULL DEFAULT 0",
}
_MARKS = ",".join("?" * len(COLUMNS.split(",")))


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before an upload is answered (power loss included).
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-65536")
    functions.sqlite(db)
    db.executescript(SCHEMA + trash.SCHEMA + versions.SCHEMA + jobs.SCHEMA)
    _migrate(db, "nodes", MIGRATIONS)
    _migrate(db, "spaces", SPACE_MIGRATIONS)
    db.executescript(INDEXES)
    return db


def _migrate(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    missing = [(name, decl) for name, decl in columns.items() if name not in have]
    for name, decl in missing:  # each its own transaction: a crash between them resumes at the next start
        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def new_etag() -> str:
    return secrets.token_hex(8)


def new_id() -> str:
    return secrets.token_hex(16)


def _node(row: tuple[Any, ...]) -> Node:
    node = Node(*row[:13])
    if row[13]:
        node.props = json.loads(row[13])
    node.status, node.downloadable, node.scan_status, node.scan_time, node.scan_partial = row[14:]
    node.downloadable, node.scan_partial = bool(node.downloadable), bool(node.scan_partial)
    return node


def get(db: sqlite3.Connection, node_id: str) -> Node | None:
    row = db.execute(f"SELECT {COLUMNS} FROM nodes WHERE id=?", (node_id,)).fetchone()
    return _node(row) if row else None


def child(db: sqlite3.Connection, parent: str, name: str) -> Node | None:
    row = db.execute(f"SELECT {COLUMNS} FROM nodes WHERE parent=? AND name=?", (parent, name)).fetchone()
    return _node(row) if row else None


def children(db: sqlite3.Connection, parent: str, after: str, limit: int) -> list[Node]:
    rows = db.execute(
        f"SELECT {COLUMNS} FROM nodes WHERE parent=? AND name>? ORDER BY name LIMIT ?", (parent, after, limit)
    )
    return [_node(r) for r in rows]


def ancestors(db: sqlite3.Connection, node_id: str) -> list[tuple[str, str | None, str]]:
    """(id, parent, name) from `node_id` up to the root, the node first."""
    rows = db.execute(
        """WITH RECURSIVE up(id, parent, name, depth) AS (
             SELECT id, parent, name, 0 FROM nodes WHERE id=?
             UNION ALL SELECT n.id, n.parent, n.name, up.depth + 1 FROM nodes n JOIN up ON n.id = up.parent)
           SELECT id, parent, name FROM up ORDER BY depth""",
        (node_id,),
    )
    return list(rows)


def path_of(db: sqlite3.Connection, node_id: str) -> str:
    names = [name for _, parent, name in ancestors(db, node_id) if parent is not None]
    return "/" + "/".join(reversed(names))


def subtree(db: sqlite3.Connection, node_id: str) -> Iterator[tuple[str, str | None, int, str]]:
    """(id, parent, type, rev) of the node and everything below it."""
    yield from db.execute(
        """WITH RECURSIVE down(id) AS (
             SELECT CAST(? AS TEXT) UNION ALL SELECT n.id FROM nodes n JOIN down ON n.parent = down.id)
           SELECT n.id, n.parent, n.type, n.rev FROM down JOIN nodes n ON n.id = down.id""",
        (node_id,),
    )


def subtree_nodes(db: sqlite3.Connection, node_id: str) -> list[Node]:
    """The node and everything below it, parents before children."""
    rows = db.execute(
        f"""WITH RECURSIVE down(id, depth) AS (
              SELECT CAST(? AS TEXT), 0
              UNION ALL SELECT n.id, down.depth + 1 FROM nodes n JOIN down ON n.parent = down.id)
            SELECT {", ".join("n." + c.strip() for c in COLUMNS.split(","))}
            FROM down JOIN nodes n ON n.id = down.id ORDER BY down.depth""",
        (node_id,),
    )
    return [_node(r) for r in rows]


def insert(db: sqlite3.Connection, node: Node) -> None:
    db.execute(
        f"INSERT INTO nodes({COLUMNS}) VALUES({_MARKS})",
        _values(node),
    )


def insert_many(db: sqlite3.Connection, nodes: Iterable[Node]) -> None:
    db.executemany(f"INSERT INTO nodes({COLUMNS}) VALUES({_MARKS})", (_values(n) for n in nodes))


def _values(n: Node) -> tuple[Any, ...]:
    props = json.dumps(n.props, ensure_ascii=False) if n.props else None
    return (
        n.id,
        n.space,
        n.parent,
        n.name,
        n.type,
        n.size,
        n.mtime,
        n.etag,
        n.rev,
        n.sha1,
        n.md5,
        n.adler32,
        n.mime,
        props,
        n.status,
        int(n.downloadable),
        n.scan_status,
        n.scan_time,
        int(n.scan_partial),
    )


def update_content(db: sqlite3.Connection, node: Node) -> None:
    """A new revision: its bytes' facts and its postprocessing state."""
    db.execute(
        "UPDATE nodes SET size=?, mtime=?, etag=?, rev=?, sha1=?, md5=?, adler32=?, mime=?, status=?,"
        " downloadable=?, scan_status=?, scan_time=?, scan_partial=? WHERE id=?",
        (node.size, node.mtime, node.etag, node.rev, node.sha1, node.md5, node.adler32, node.mime, node.status,
         int(node.downloadable), node.scan_status, node.scan_time, int(node.scan_partial), node.id),
    )  # fmt: skip


def set_state(db: sqlite3.Connection, node: Node) -> None:
    """The node's postprocessing state and scan result as `node` has them."""
    db.execute(
        "UPDATE nodes SET status=?, downloadable=?, scan_status=?, scan_time=?, scan_partial=? WHERE id=?",
        (node.status, int(node.downloadable), node.scan_status, node.scan_time, int(node.scan_partial), node.id),
    )


def set_props(db: sqlite3.Connection, node_id: str, props: dict[str, str]) -> None:
    db.execute(
        "UPDATE nodes SET props=? WHERE id=?", (json.dumps(props, ensure_ascii=False) if props else None, node_id)
    )


def set_mtime(db: sqlite3.Connection, node_id: str, mtime: int) -> None:
    db.execute("UPDATE nodes SET mtime=? WHERE id=?", (mtime, node_id))


def relink(db: sqlite3.Connection, node_id: str, parent: str, name: str) -> None:
    db.execute("UPDATE nodes SET parent=?, name=? WHERE id=?", (parent, name, node_id))


def delete_subtree(db: sqlite3.Connection, node_id: str) -> list[str]:
    """Remove the node and everything below, their versions and grants too; returns the blob names that
    became garbage."""
    rows = list(subtree(db, node_id))
    db.executemany("DELETE FROM nodes WHERE id=?", ((r[0],) for r in rows))
    db.executemany("DELETE FROM locks WHERE node=?", ((r[0],) for r in rows))
    db.executemany("DELETE FROM grants WHERE node=?", ((r[0],) for r in rows))
    jobs.drop_nodes(db, [r[0] for r in rows if r[2] != FOLDER])
    kept = versions.drop_nodes(db, (r[0] for r in rows if r[2] != FOLDER))
    return [blob_name(r[0], r[3]) for r in rows if r[3]] + kept


def blob_name(node_id: str, rev: str) -> str:
    """Bytes are keyed by node and revision; a revision's blob never changes once committed."""
    return f"{node_id}.{rev}"


def propagate(db: sqlite3.Connection, folder_id: str, size_delta: int, now: int) -> None:
    """A change below `folder_id`: new etag, tree mtime and size for it and every ancestor."""
    ids = [row[0] for row in ancestors(db, folder_id)]
    db.executemany(
        "UPDATE nodes SET etag=?, mtime=GREATEST(mtime, ?), size=size+? WHERE id=?",
        ((new_etag(), now, size_delta, i) for i in ids),
    )


def is_below(db: sqlite3.Connection, node_id: str, ancestor_id: str) -> bool:
    return any(row[0] == ancestor_id for row in ancestors(db, node_id)[1:])


def folder(node: Node | None) -> bool:
    return node is not None and node.type == FOLDER


def space_used(db: sqlite3.Connection, space: str) -> int:
    """The live tree's bytes (the root's size) and those waiting in the space's trash bin."""
    row = db.execute("SELECT size FROM nodes WHERE id=?", (space,)).fetchone()
    return (int(row[0]) if row else 0) + trash.size(db, space)


def stored_quota(db: sqlite3.Connection, space: str) -> int:
    """The quota kept with the space: bytes, 0 = unlimited, -1 = the driver's default (older spaces, or none)."""
    row = db.execute("SELECT quota FROM spaces WHERE id=?", (space,)).fetchone()
    return int(row[0]) if row and row[0] >= 0 else -1


def space_quota(db: sqlite3.Connection, space: str, default: int) -> int:
    """The space's quota in bytes, 0 = unlimited; `default` for a space that keeps none of its own."""
    stored = stored_quota(db, space)
    return default if stored < 0 else stored


def check_enabled(db: sqlite3.Connection, space: str) -> None:
    if db.execute("SELECT 1 FROM spaces WHERE id=? AND disabled<>0", (space,)).fetchone():
        raise errors.precondition("disabled", f"space {space} is disabled")


def check_quota(db: sqlite3.Connection, space: str, delta: int, default: int) -> None:
    """Refuse growing a space by `delta` bytes beyond its quota: every write that adds bytes (uploads,
    copies, restores) calls this inside its transaction, so the check and the change are one."""
    total = space_quota(db, space, default)
    if total <= 0 or delta <= 0:
        return
    now_used = space_used(db, space)
    if now_used + delta > total:
        raise errors.quota(f"needs {delta} bytes, {max(total - now_used, 0)} of {total} left")
