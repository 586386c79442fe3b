"""Resolving a reference to a node (or to the parent folder a new node would go into)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import LockInfo, Node, Ref, join_path, split_path

from . import locks, tree


@dataclass
class Located:
    node: Node | None  # None: nothing there (yet)
    parent: Node | None  # None: the space root
    name: str
    path: str

    def existing(self) -> Node:
        if self.node is None:
            raise errors.not_found(f"{self.path} does not exist")
        return self.node

    def parent_folder(self) -> Node:
        """The folder a new node at this path goes into."""
        if self.parent is None:
            raise errors.forbidden("the space root cannot be replaced")
        return self.parent


def _base(db: sqlite3.Connection, ref: Ref) -> tuple[Node, str]:
    node = tree.get(db, ref.node or ref.space)
    if node is None or node.space != ref.space:
        raise errors.not_found("no such space" if not ref.node else "no such resource id")
    return node, (tree.path_of(db, node.id) if ref.node else "/")


def locate(db: sqlite3.Connection, ref: Ref) -> Located:
    """Where `ref` points; a missing or non-folder parent raises parent-missing."""
    base, base_path = _base(db, ref)
    segs = split_path(ref.path)
    if not segs:
        parent = tree.get(db, base.parent) if base.parent else None
        return Located(base, parent, base.name, base_path)
    node = base
    path = base_path
    for seg in segs[:-1]:
        nxt = tree.child(db, node.id, seg) if tree.folder(node) else None
        if nxt is None:
            raise errors.precondition("parent-missing", f"{join_path(path, seg)} does not exist")
        node, path = nxt, join_path(path, seg)
    if not tree.folder(node):
        raise errors.precondition("parent-missing", f"{path} is not a folder")
    name = segs[-1]
    return Located(tree.child(db, node.id, name), node, name, join_path(path, name))


def locate_existing(db: sqlite3.Connection, ref: Ref) -> Located:
    """Like `locate` for something that must exist: a missing parent is NOT_FOUND too."""
    try:
        loc = locate(db, ref)
    except errors.StorageError as exc:
        if exc.reason == "parent-missing":
            raise errors.not_found(exc.message) from None
        raise
    loc.existing()
    return loc


def existing(db: sqlite3.Connection, ref: Ref) -> Node:
    """The node at `ref` with path and locks filled."""
    loc = locate_existing(db, ref)
    return fill(db, loc.existing(), loc.path)


def fill(db: sqlite3.Connection, node: Node, path: str, active: list[LockInfo] | None = None) -> Node:
    node.path = path
    node.locks = locks.covering(locks.active(db, node.space) if active is None else active, path)
    return node
