"""Blobs no longer (or never) referenced by the tree, removed after the commit that orphaned them.

A name is written to `blob_gc` in the same transaction that drops its last
reference (or, for a new blob, committed before the blob is placed), so a crash
at any point leaves a list that `collect_all` finishes on the next start.
"""

from __future__ import annotations

import sqlite3

from . import tree, versions
from .blobs import BlobStore
from .database import transaction


def mark(db: sqlite3.Connection, names: list[str]) -> None:
    db.executemany("INSERT INTO blob_gc(name) VALUES(?) ON CONFLICT(name) DO NOTHING", ((n,) for n in names))


def unmark(db: sqlite3.Connection, names: list[str]) -> None:
    db.executemany("DELETE FROM blob_gc WHERE name=?", ((n,) for n in names))


def collect(db: sqlite3.Connection, blobs: BlobStore, names: list[str]) -> None:
    """Unlink garbage blobs after their commit, then forget them (no transaction needed)."""
    if not names:
        return
    for name in names:
        blobs.remove(name)
    with transaction(db, durable=False):
        unmark(db, names)


def collect_all(db: sqlite3.Connection, blobs: BlobStore) -> int:
    """At start: remove every listed blob that the tree does not reference."""
    names = [r[0] for r in db.execute("SELECT name FROM blob_gc")]
    referenced = {n for n in names if _referenced(db, n)}
    garbage = [n for n in names if n not in referenced]
    collect(db, blobs, garbage)
    with transaction(db):
        unmark(db, list(referenced))
    return len(garbage)


def _referenced(db: sqlite3.Connection, name: str) -> bool:
    node_id, _, rev = name.partition(".")
    node = tree.get(db, node_id)
    current = node is not None and tree.blob_name(node.id, node.rev) == name
    return current or versions.referenced(db, name)
