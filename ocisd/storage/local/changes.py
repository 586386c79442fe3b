"""Tree changes other than uploads, each one transaction on the writer connection.

Every change gives the changed folder and each ancestor up to the space root a
new etag, tree mtime and size in the same transaction (`tree.propagate`).
"""

from __future__ import annotations

import mimetypes
import sqlite3
import time

from ocisd.api.postprocessing.v1.contract import PROCESSING
from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import FILE, FOLDER, FOLDER_MIME, LockInfo, Node, Ref

from . import garbage, grants, jobs, locks, trash, tree, versions
from .database import transaction
from .locate import Located, existing, fill, locate, locate_existing


def mime_of(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def ensure_space(db: sqlite3.Connection, space_id: str, owner: str, quota: int) -> Node:
    """The space's root; a new space keeps `quota` (bytes, 0 = unlimited) as its own."""
    with transaction(db):
        root = tree.get(db, space_id) or _new_space(db, space_id, owner, quota)
        return fill(db, root, "/")


def set_quota(db: sqlite3.Connection, space_id: str, owner: str, quota: int) -> None:
    """Give the space its own quota (bytes, 0 = unlimited), making the space first if it is not there yet."""
    with transaction(db):
        if tree.get(db, space_id) is None:
            _new_space(db, space_id, owner, quota)
        else:
            db.execute("UPDATE spaces SET quota=? WHERE id=?", (quota, space_id))


def _new_space(db: sqlite3.Connection, space_id: str, owner: str, quota: int) -> Node:
    db.execute(
        "INSERT INTO spaces(id, owner, quota, created) VALUES(?,?,?,?)", (space_id, owner, quota, int(time.time()))
    )
    root = Node(space_id, space_id, None, "", FOLDER, 0, time.time_ns(), tree.new_etag(), mime=FOLDER_MIME)
    tree.insert(db, root)
    return root


def mkdir(db: sqlite3.Connection, ref: Ref, tokens: tuple[str, ...], mtime: int) -> Node:
    with transaction(db):
        loc = locate(db, ref)
        if loc.node is not None:
            raise errors.exists(f"{loc.path} exists")
        parent = loc.parent_folder()
        locks.check(db, ref.space, [loc.path], tokens, recursive=False, membership=True)
        now = time.time_ns()
        node = Node(
            tree.new_id(), ref.space, parent.id, loc.name, FOLDER, 0, mtime or now, tree.new_etag(), mime=FOLDER_MIME
        )
        tree.insert(db, node)
        tree.propagate(db, parent.id, 0, now)
        return fill(db, node, loc.path)


def delete(
    db: sqlite3.Connection,
    blobs: BlobStore,
    ref: Ref,
    tokens: tuple[str, ...],
    if_match: str,
    user: str,
    trashed_at: float | None,
) -> list[str]:
    """Move the node and its subtree into the space's trash bin at `trashed_at` (unix seconds), or drop
    them at once when that is None (the bin is off); returns the nodes whose grants went with them."""
    dropped: list[str] = []
    with transaction(db):
        loc = locate_existing(db, ref)
        node = loc.existing()
        parent = loc.parent_folder()
        if if_match and node.etag != if_match:
            raise errors.precondition("etag-mismatch", f"{loc.path} has another etag")
        locks.check(db, ref.space, [loc.path], tokens, recursive=True, membership=True)
        ungranted = grants.drop_below(db, ref.space, node.id)
        if trashed_at is None:
            dropped = tree.delete_subtree(db, node.id)
        else:
            trash.move_in(db, loc, user, trashed_at)
        tree.propagate(db, parent.id, -node.size, time.time_ns())
        garbage.mark(db, dropped)
    garbage.collect(db, blobs, dropped)
    return ungranted


def move(
    db: sqlite3.Connection,
    blobs: BlobStore,
    policy: versions.Policy,
    src: Ref,
    dst: Ref,
    overwrite: bool,
    tokens: tuple[str, ...],
    mtime: int,
) -> tuple[Node, bool]:
    # A replaced file's bytes move from the tree to its versions: the space's use stays the same.
    dropped: list[str] = []
    with transaction(db):
        s = locate_existing(db, src)
        node = s.existing()
        if s.parent is None:
            raise errors.forbidden("the space root cannot be moved")
        d, parent = _destination(db, s.path, dst, node.is_folder)
        locks.check(db, src.space, [s.path], tokens, recursive=True, membership=True)
        locks.check(db, dst.space, [d.path], tokens, recursive=d.node is not None, membership=True)
        now = time.time_ns()
        if d.node is not None:
            if not overwrite:
                raise errors.exists(f"{d.path} exists")
            dropped = _replace(db, d.node, node, policy)
            tree.propagate(db, parent.id, -d.node.size, now)
        locks.drop_below(db, src.space, s.path)
        tree.relink(db, node.id, parent.id, d.name)
        if mtime:
            tree.set_mtime(db, node.id, mtime)
        tree.propagate(db, s.parent.id, -node.size, now)
        tree.propagate(db, parent.id, node.size, now)
        garbage.mark(db, dropped)
        moved = tree.get(db, node.id)
        assert moved is not None
        result = fill(db, moved, d.path)
    garbage.collect(db, blobs, dropped)
    return result, d.node is not None


def _destination(db: sqlite3.Connection, src_path: str, dst: Ref, folder: bool) -> tuple[Located, Node]:
    d = locate(db, dst)
    if d.path == src_path:
        raise errors.invalid("same-path", "source and destination are the same")
    if folder and locks.inside(d.path, src_path):
        raise errors.invalid("into-descendant", "cannot put a folder inside itself")
    if d.node is not None and locks.inside(src_path, d.path):
        raise errors.forbidden("cannot replace a folder that holds the source")
    return d, d.parent_folder()


def copy(
    db: sqlite3.Connection,
    blobs: BlobStore,
    src: Ref,
    dst: Ref,
    overwrite: bool,
    tokens: tuple[str, ...],
    shallow: bool,
    mtime: int,
    default_quota: int,
    policy: versions.Policy,
    hold: bool,
    user: str,
) -> tuple[Node, bool, bool]:
    """Returns the copy, whether it replaced a node, and whether a copied file waits in `processing`
    (each one does with `hold`, and so does the copy of a file that is processing)."""
    with transaction(db, durable=False):  # checks, and the links listed as garbage-to-be
        s = locate_existing(db, src)
        node = s.existing()
        d, parent = _destination(db, s.path, dst, node.is_folder and not shallow)
        if d.node is not None and not overwrite:
            raise errors.exists(f"{d.path} exists")
        locks.check(db, dst.space, [d.path], tokens, recursive=d.node is not None, membership=True)
        originals = [node] if shallow or not node.is_folder else tree.subtree_nodes(db, node.id)
        size = sum(n.size for n in originals if n.type == FILE)
        tree.check_quota(db, dst.space, size - (d.node.size if d.node else 0), default_quota)
        copies, links = _plan_copy(originals, parent.id, d.name, mtime)
        garbage.mark(db, [new for _, new in links])
    # The writer thread runs this whole function, so nothing changes between the transactions.
    for old, new in links:
        blobs.link(old, new)
    blobs.sync_dirs([new for _, new in links])
    dropped: list[str] = []
    with transaction(db):
        now = time.time_ns()
        if d.node is not None:
            dropped = _replace(db, d.node, copies[0], policy)
            tree.propagate(db, parent.id, -d.node.size, now)
        queued = False
        for original, copied in zip(originals, copies, strict=True):
            if copied.type == FILE:
                queued |= _copy_state(db, original, copied, hold, user)
        tree.insert_many(db, copies)
        tree.propagate(db, parent.id, size, now)
        garbage.unmark(db, [new for _, new in links])
        dropped += versions.fit_quota(db, dst.space, default_quota, policy)
        garbage.mark(db, dropped)
        result = fill(db, copies[0], d.path)
    garbage.collect(db, blobs, dropped)
    return result, d.node is not None, queued


def _copy_state(db: sqlite3.Connection, original: Node, new: Node, hold: bool, user: str) -> bool:
    """A copied file is a new revision (held with `hold`) or keeps the original's state and scan."""
    if hold or original.status == PROCESSING:
        return jobs.new_revision(db, new, None, True, user)
    new.status, new.downloadable = original.status, original.downloadable
    new.scan_status, new.scan_time, new.scan_partial = original.scan_status, original.scan_time, original.scan_partial
    return False


def _replace(db: sqlite3.Connection, replaced: Node, newcomer: Node, policy: versions.Policy) -> list[str]:
    """Drop the destination a MOVE or COPY replaces; returns the blobs that became garbage. A file
    replaced by a file is an overwrite: its revision becomes a version and the newcomer inherits them all."""
    if replaced.is_folder or newcomer.is_folder or not policy.enabled:
        return tree.delete_subtree(db, replaced.id)
    dropped = versions.supersede(db, replaced, policy)
    dropped += versions.hand_over(db, replaced.id, newcomer.id, policy)
    kept = tree.blob_name(replaced.id, replaced.rev)
    return dropped + [b for b in tree.delete_subtree(db, replaced.id) if b != kept]


def _plan_copy(originals: list[Node], parent: str, name: str, mtime: int) -> tuple[list[Node], list[tuple[str, str]]]:
    """New nodes (fresh ids and etags, parents first) and the blob links they need."""
    ids = {originals[0].parent: parent}
    copies: list[Node] = []
    links: list[tuple[str, str]] = []
    for n in originals:
        new_id = ids[n.id] = tree.new_id()
        rev = tree.new_id()[:16] if n.rev else ""
        copies.append(
            Node(
                new_id,
                n.space,
                ids[n.parent],
                n.name,
                n.type,
                n.size if n.type == FILE else 0,
                n.mtime,
                tree.new_etag(),
                rev,
                n.sha1,
                n.md5,
                n.adler32,
                n.mime,
                dict(n.props),
            )
        )
        if n.rev:
            links.append((tree.blob_name(n.id, n.rev), tree.blob_name(new_id, rev)))
    copies[0].name = name
    if mtime:
        copies[0].mtime = mtime
    _sum_folder_sizes(copies)
    return copies, links


def _sum_folder_sizes(copies: list[Node]) -> None:
    """Folder sizes are recursive: sum them bottom-up (copies are ordered parents first)."""
    by_id = {c.id: c for c in copies}
    for c in reversed(copies):
        parent = by_id.get(c.parent or "")
        if parent is not None:
            parent.size += c.size


def set_props(
    db: sqlite3.Connection, ref: Ref, props: dict[str, str], remove: list[str], tokens: tuple[str, ...]
) -> Node:
    with transaction(db):
        node = existing(db, ref)
        locks.check(db, ref.space, [node.path], tokens, recursive=False)
        merged = {**node.props, **props}
        for key in remove:
            merged.pop(key, None)
        tree.set_props(db, node.id, merged)
        node.props = merged
        return node


def lock(
    db: sqlite3.Connection, ref: Ref, exclusive: bool, depth_infinity: bool, owner: str, timeout: int, user: str
) -> tuple[LockInfo, Node, bool]:
    with transaction(db):
        loc = locate(db, ref)
        node = loc.node
        if node is None:  # a locked empty resource (RFC 4918 7.3)
            parent = loc.parent_folder()
            now = time.time_ns()
            node = Node(
                tree.new_id(), ref.space, parent.id, loc.name, FILE, 0, now, tree.new_etag(), mime=mime_of(loc.name)
            )
            tree.insert(db, node)
            tree.propagate(db, parent.id, 0, now)
        lk = locks.acquire(db, ref.space, node.id, loc.path, exclusive, depth_infinity, owner, timeout, user)
        return lk, fill(db, node, loc.path), loc.node is None


def refresh_lock(db: sqlite3.Connection, ref: Ref, token: str, timeout: int) -> LockInfo:
    with transaction(db):
        return locks.refresh(db, ref.space, existing(db, ref).path, token, timeout)


def unlock(db: sqlite3.Connection, ref: Ref, token: str) -> None:
    with transaction(db):
        locks.release(db, ref.space, existing(db, ref).path, token)
