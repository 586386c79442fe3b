"""Spaces in SQLite: the `spaces` rows (personal and project), listings with their roots, and purges.

A project space has no owner (""); its members are the grants on its root, found
for a caller through the partial index `grants_roots` (grants whose node is their
space's root), so listing a member's hundred spaces is one indexed query.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import FOLDER, FOLDER_MIME, Grant, Node, Space, SpaceState

from . import garbage, grants, trash, tree, versions
from .database import transaction
from .locate import fill

_COLUMNS = "id, owner, quota, type, name, description, alias, disabled"
EDITABLE = ("name", "description", "alias", "quota", "disabled")


def _space(row: tuple[Any, ...]) -> Space:
    sid, owner, quota, kind, name, description, alias, disabled = row
    return Space(sid, owner, quota if quota >= 0 else -1, kind, name, description, alias, bool(disabled))


def get(db: sqlite3.Connection, space_id: str) -> Space | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM spaces WHERE id=?", (space_id,)).fetchone()
    return _space(row) if row else None


def create(db: sqlite3.Connection, space: Space, manager: Grant | None) -> None:
    """A new space with its root (and its first manager's grant), or ALREADY_EXISTS."""
    with transaction(db):
        if tree.get(db, space.id) is not None:
            raise errors.exists(f"space {space.id} exists")
        db.execute(
            f"INSERT INTO spaces({_COLUMNS}, created) VALUES(?,?,?,?,?,?,?,?,?)",
            (space.id, space.owner, space.quota, space.type, space.name, space.description, space.alias,
             int(space.disabled), int(time.time())),
        )  # fmt: skip
        root = Node(space.id, space.id, None, "", FOLDER, 0, time.time_ns(), tree.new_etag(), mime=FOLDER_MIME)
        tree.insert(db, root)
        if manager is not None:
            grants.put(db, root, manager)


def update(db: sqlite3.Connection, space_id: str, changes: dict[str, Any]) -> None:
    """Set some of `EDITABLE` (a personal space not made yet has nothing to update: NOT_FOUND)."""
    assert set(changes) <= set(EDITABLE)
    with transaction(db):
        sets = ", ".join(f"{k}=?" for k in changes)
        if not db.execute(f"UPDATE spaces SET {sets} WHERE id=?", (*changes.values(), space_id)).rowcount:
            raise errors.not_found("no such space")


def member_of(db: sqlite3.Connection, grantees: list[tuple[str, str]]) -> list[str]:
    """Ids of the spaces whose root carries a grant for one of `grantees` ((type, id) pairs)."""
    found: list[str] = []
    for kind, grantee in grantees:
        rows = db.execute(
            "SELECT node FROM grants WHERE grantee=? AND grantee_type=? AND node = space", (grantee, kind)
        )
        found += [r[0] for r in rows]
    return found


def states(
    db: sqlite3.Connection, ids: list[str], grantees: list[tuple[str, str]], every: bool, default: int, counted: bool
) -> list[SpaceState]:
    """The spaces named, those `grantees` are members of, or (`every`) all of them, each with its root, quota
    and use (`counted`: versions count), in one read transaction."""
    wanted = [r[0] for r in db.execute("SELECT id FROM spaces ORDER BY id")] if every else ids
    wanted = list(dict.fromkeys(wanted + member_of(db, grantees)))
    members: dict[str, list[Grant]] = {}
    for g in grants.on(db, wanted):  # a root's node id is its space id: one query for every root's grants
        members.setdefault(g.node, []).append(g)
    out: list[SpaceState] = []
    for space_id in wanted:
        space, root = get(db, space_id), tree.get(db, space_id)
        if space is None or root is None:
            continue
        used = tree.space_used(db, space_id) + (versions.space_bytes(db, space_id) if counted else 0)
        total = tree.space_quota(db, space_id, default)
        out.append(SpaceState(space, fill(db, root, "/"), total, used, members.get(space_id, [])))
    return out


def purge(db: sqlite3.Connection, blobs: BlobStore, space_id: str) -> list[str]:
    """Remove the space for good: nodes, versions, trash, grants, locks, jobs, scans; returns the nodes that
    carried grants. Blobs go after the commit (a crash leaves them listed in `blob_gc`)."""
    with transaction(db):
        if tree.get(db, space_id) is None:
            raise errors.not_found("no such space")
        granted = [r[0] for r in db.execute("SELECT DISTINCT node FROM grants WHERE space=?", (space_id,))]
        dropped = trash.purge(db, trash.ids_of(db, space_id)) + tree.delete_subtree(db, space_id)
        db.execute("DELETE FROM grants WHERE space=?", (space_id,))
        db.execute("DELETE FROM locks WHERE space=?", (space_id,))
        db.execute("DELETE FROM scan_files WHERE scan IN (SELECT id FROM scans WHERE space=?)", (space_id,))
        db.execute("DELETE FROM scans WHERE space=?", (space_id,))
        db.execute("DELETE FROM spaces WHERE id=?", (space_id,))
        garbage.mark(db, dropped)
    garbage.collect(db, blobs, dropped)
    return granted
