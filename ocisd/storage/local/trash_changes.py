"""Trash bin changes, each one transaction on the writer connection: restore, purge, empty, expire.

A restore puts the subtree back with its node ids and propagates to the root; a
purge drops nodes and lists their blobs as garbage in the same transaction and
unlinks them after the commit (`garbage`), as an overwritten upload's blob goes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import Node, Ref

from . import garbage, locks, trash, tree
from .database import transaction
from .locate import fill, locate


def restore(db: sqlite3.Connection, space: str, item_id: str, dst: Ref, tokens: tuple[str, ...]) -> Node:
    """The item back at `dst` (same space; its parent must exist, its name must be free)."""
    if dst.space != space:
        raise errors.StorageError(errors.Kind.UNSUPPORTED, "cross-space", "restore into the item's own space")
    with transaction(db):
        item = trash.get(db, space, item_id)
        d = locate(db, dst)
        parent = d.parent_folder()
        locks.check(db, space, [d.path], tokens, recursive=False, membership=True)
        trash.move_out(db, item, d, parent)  # bytes already counted against the quota: no check
        tree.propagate(db, parent.id, item.node.size, time.time_ns())
        node = tree.get(db, item_id)
        assert node is not None
        return fill(db, node, d.path)


def purge(db: sqlite3.Connection, blobs: BlobStore, space: str, item_id: str) -> int:
    """Purge one item, or empty the bin when `item_id` is empty; how many items went."""
    return _drop(db, blobs, lambda: [trash.get(db, space, item_id).node.id] if item_id else trash.ids_of(db, space))


def purge_expired(db: sqlite3.Connection, blobs: BlobStore, before: float) -> int:
    """Purge every space's items deleted before `before` (unix seconds); how many went."""
    return _drop(db, blobs, lambda: trash.expired(db, before))


def _drop(db: sqlite3.Connection, blobs: BlobStore, pick: Callable[[], list[str]]) -> int:
    """Purge the items `pick` names (asked inside the transaction); blobs go after the commit."""
    with transaction(db):
        ids = pick()
        dropped = trash.purge(db, ids)
        garbage.mark(db, dropped)
    garbage.collect(db, blobs, dropped)
    return len(ids)
