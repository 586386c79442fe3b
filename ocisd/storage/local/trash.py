"""A space's trash bin in SQLite: deleted subtrees kept, node ids and all, until restored or purged.

Trashing a subtree moves its nodes out of the live tree in one transaction: each
node's `space` becomes the bin's id (so listings, search, stat by path or by id
and the live tree's sizes no longer see it), the top node hangs under the bin
named by its own id (names in a bin never clash), and a `trash` row keeps its
original name and path, when it was deleted and by whom. Restoring reverses it;
purging drops the rows through `tree.delete_subtree` and lists the blobs as
garbage in the same transaction, so a crash at any point leaves either the old
or the new state (`garbage.collect_all` finishes the blobs on the next start).
Items count against the space's quota until purged (`size`).
"""

from __future__ import annotations

import sqlite3

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import Node, TrashItem

from . import tree
from .locate import Located

SCHEMA = """
CREATE TABLE IF NOT EXISTS trash(
  id TEXT PRIMARY KEY, space TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL,
  deleted DOUBLE PRECISION NOT NULL, deleted_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS trash_space ON trash(space, deleted);
CREATE INDEX IF NOT EXISTS trash_deleted ON trash(deleted);
"""


def bin_of(space: str) -> str:
    """The id trashed nodes of `space` carry as their space (and the top ones as their parent)."""
    return f"trash:{space}"


def move_in(db: sqlite3.Connection, loc: Located, user: str, now: float) -> None:
    """Move the existing node at `loc` and its subtree into its space's bin (the caller propagates)."""
    node = loc.existing()
    ids = [(bin_of(node.space), row[0]) for row in tree.subtree(db, node.id)]
    db.executemany("UPDATE nodes SET space=? WHERE id=?", ids)
    db.executemany("DELETE FROM locks WHERE node=?", ((i,) for _, i in ids))
    tree.relink(db, node.id, bin_of(node.space), node.id)
    db.execute(
        "INSERT INTO trash(id, space, name, path, deleted, deleted_by) VALUES(?,?,?,?,?,?)",
        (node.id, node.space, node.name, loc.path, now, user),
    )


def items(db: sqlite3.Connection, space: str) -> list[TrashItem]:
    """The space's bin, newest deletion first."""
    rows = db.execute(
        "SELECT id, name, path, deleted, deleted_by FROM trash WHERE space=? ORDER BY deleted DESC, id", (space,)
    ).fetchall()
    return [_item(db, space, *row) for row in rows]


def _item(
    db: sqlite3.Connection, space: str, node_id: str, name: str, path: str, deleted: float, user: str
) -> TrashItem:
    node = tree.get(db, node_id)
    if node is None:  # the row and its nodes go in one transaction: this is a broken database
        raise RuntimeError(f"trash item {node_id} has no node")
    node.space, node.parent, node.name, node.path = space, None, name, path
    return TrashItem(node, deleted, user)


def get(db: sqlite3.Connection, space: str, item_id: str) -> TrashItem:
    row = db.execute(
        "SELECT id, name, path, deleted, deleted_by FROM trash WHERE id=? AND space=?", (item_id, space)
    ).fetchone()
    if row is None:
        raise errors.not_found(f"no trash item {item_id!r}")
    return _item(db, space, *row)


def move_out(db: sqlite3.Connection, item: TrashItem, dst: Located, parent: Node) -> None:
    """Put the item back at `dst` (its parent folder `parent`) with its node ids; the caller propagates."""
    if dst.node is not None:
        raise errors.exists(f"{dst.path} exists: restore it under another name")
    space = parent.space
    rows = [(space, row[0]) for row in tree.subtree(db, item.node.id)]
    db.executemany("UPDATE nodes SET space=? WHERE id=?", rows)
    tree.relink(db, item.node.id, parent.id, dst.name)
    # A new etag: a sync client that knew the node before its deletion sees it as changed.
    db.execute("UPDATE nodes SET etag=? WHERE id=?", (tree.new_etag(), item.node.id))
    db.execute("DELETE FROM trash WHERE id=?", (item.node.id,))


def purge(db: sqlite3.Connection, item_ids: list[str]) -> list[str]:
    """Drop the items for good; returns the blob names that became garbage (the caller marks them)."""
    dropped: list[str] = []
    for item_id in item_ids:
        dropped += tree.delete_subtree(db, item_id)
    db.executemany("DELETE FROM trash WHERE id=?", ((i,) for i in item_ids))
    return dropped


def ids_of(db: sqlite3.Connection, space: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM trash WHERE space=?", (space,))]


def expired(db: sqlite3.Connection, before: float) -> list[str]:
    """Items of every space deleted before `before` (unix seconds)."""
    return [r[0] for r in db.execute("SELECT id FROM trash WHERE deleted<?", (before,))]


def size(db: sqlite3.Connection, space: str) -> int:
    """Bytes the space's bin holds (they count against its quota)."""
    row = db.execute(
        "SELECT CAST(COALESCE(SUM(n.size), 0) AS BIGINT) FROM trash t JOIN nodes n ON n.id = t.id WHERE t.space=?",
        (space,),
    ).fetchone()
    return int(row[0])
