"""Grants in SQLite: a `grants` row per (node, grantee), and the walk a non-owner's access check reads.

The table comes with the schema every connection applies (`tree.SCHEMA`), so a
metadata DB made before grants existed gets it at the next start. A grant lives
as long as its node in the live tree: `drop_below` removes those of a deleted
subtree in the delete's own transaction.
"""

from __future__ import annotations

import sqlite3

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import Grant, Node, Reach, Ref, split_path

from . import tree
from .database import transaction
from .locate import existing

_COLUMNS = "grantee_type, grantee, bits, expires, creator, node"


def _grants(rows: sqlite3.Cursor) -> list[Grant]:
    return [Grant(*row) for row in rows]


def on(db: sqlite3.Connection, node_ids: list[str]) -> list[Grant]:
    if not node_ids:
        return []  # PostgreSQL has no empty IN ()
    marks = ",".join("?" * len(node_ids))
    return _grants(db.execute(f"SELECT {_COLUMNS} FROM grants WHERE node IN ({marks})", node_ids))


def reach(db: sqlite3.Connection, ref: Ref) -> Reach:
    """Walk from the base node down `ref.path` as far as nodes exist; never raises for a missing path,
    so a caller without any grant learns nothing of what lies below (the check says NOT_FOUND)."""
    base = tree.get(db, ref.node or ref.space)
    if base is None or base.space != ref.space:
        raise errors.not_found("no such resource id")
    node, found = base, True
    for seg in split_path(ref.path):
        nxt = tree.child(db, node.id, seg) if tree.folder(node) else None
        if nxt is None:
            found = False
            break
        node = nxt
    chain = [row[0] for row in tree.ancestors(db, node.id)]
    return Reach(chain, on(db, chain), node if found else None)


def add(db: sqlite3.Connection, ref: Ref, grant: Grant) -> None:
    with transaction(db):
        node = existing(db, ref)
        if node.parent is None and not _project(db, node.space):
            raise errors.forbidden("the space root cannot be shared")
        put(db, node, grant)


def _project(db: sqlite3.Connection, space: str) -> bool:
    """Is `space` a project space (whose root carries its members' grants)?"""
    return db.execute("SELECT 1 FROM spaces WHERE id=? AND type='project'", (space,)).fetchone() is not None


def put(db: sqlite3.Connection, node: Node, grant: Grant) -> None:
    """Add or replace the grantee's grant on `node`, inside the caller's transaction."""
    db.execute(
        "INSERT INTO grants(node, space, grantee_type, grantee, bits, expires, creator) VALUES(?,?,?,?,?,?,?)"
        " ON CONFLICT(node, grantee_type, grantee) DO UPDATE SET space=excluded.space, bits=excluded.bits,"
        " expires=excluded.expires, creator=excluded.creator",
        (node.id, node.space, grant.grantee_type, grant.grantee, grant.bits, grant.expires, grant.creator),
    )


def remove(db: sqlite3.Connection, ref: Ref, grantee_type: str, grantee: str) -> None:
    with transaction(db):
        node = existing(db, ref)
        gone = db.execute(
            "DELETE FROM grants WHERE node=? AND grantee_type=? AND grantee=?", (node.id, grantee_type, grantee)
        ).rowcount
        if not gone:
            raise errors.not_found(f"{node.path} has no grant for that {grantee_type}")


def listing(db: sqlite3.Connection, ref: Ref) -> list[Grant]:
    return on(db, [existing(db, ref).id])


def drop_below(db: sqlite3.Connection, space: str, node_id: str) -> list[str]:
    """Inside a delete's transaction, before the nodes go: remove the grants on `node_id` and below;
    returns the nodes that had some. Walks up from the space's granted nodes (usually none), one
    query, rather than down a subtree that may be huge."""
    gone = [
        row[0]
        for row in db.execute(
            """WITH RECURSIVE up(start, id) AS (
                 SELECT DISTINCT node, node FROM grants WHERE space=?
                 UNION ALL SELECT up.start, n.parent FROM nodes n JOIN up ON n.id = up.id
                 WHERE n.parent IS NOT NULL AND up.id != ?)
               SELECT DISTINCT start FROM up WHERE id=?""",
            (space, node_id, node_id),
        )
    ]
    db.executemany("DELETE FROM grants WHERE node=?", ((n,) for n in gone))
    return gone
