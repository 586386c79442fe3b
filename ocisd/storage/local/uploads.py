"""Upload checks and the commit that makes staged bytes a file's content.

The commit runs on the writer thread: (1) re-check everything and list the new
blob as garbage-to-be, (2) rename the fsynced temp file into place and fsync
the directory, (3) point the node at the new revision, propagate, and unlist
the new blob while listing the old one. A crash between the steps loses
nothing that was answered and leaves no partial file visible.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ocisd.api.storage.v1 import errors
from ocisd.storage import checksums
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import FILE, Node, Ref, Staged, UploadOptions

from . import garbage, jobs, locks, tree, versions
from .changes import mime_of
from .database import transaction
from .locate import Located, fill, locate


def _conditions(loc: Located, opts: UploadOptions) -> None:
    if loc.node is not None and loc.node.is_folder:
        raise errors.precondition("is-a-container", f"{loc.path} is a folder")
    if opts.if_none_match and loc.node is not None:
        raise errors.precondition("if-none-match", f"{loc.path} exists")
    if opts.if_match and (loc.node is None or loc.node.etag != opts.if_match):
        raise errors.precondition("etag-mismatch", f"{loc.path} has another etag")


def _admissible(db: sqlite3.Connection, ref: Ref, opts: UploadOptions, size: int, default_quota: int) -> Located:
    tree.check_enabled(db, ref.space)  # a signed URL or session outliving a disable writes nothing
    loc = locate(db, ref)
    loc.parent_folder()
    _conditions(loc, opts)
    locks.check(db, ref.space, [loc.path], opts.lock_tokens, recursive=False, membership=loc.node is None)
    if size >= 0:
        tree.check_quota(db, ref.space, size - (loc.node.size if loc.node else 0), default_quota)
    return loc


def verify_staged(opts: UploadOptions, staged: Staged) -> None:
    """The bytes that arrived are the bytes announced (size, client checksum)."""
    if opts.size >= 0 and staged.size != opts.size:
        raise errors.invalid("size-mismatch", f"announced {opts.size} bytes, received {staged.size}")
    checksums.verify(opts.checksum, {"SHA1": staged.sha1, "MD5": staged.md5, "ADLER32": staged.adler32})


def check(db: sqlite3.Connection, ref: Ref, opts: UploadOptions, default_quota: int) -> bool:
    return _admissible(db, ref, opts, opts.size, default_quota).node is not None


def commit(
    db: sqlite3.Connection,
    blobs: BlobStore,
    ref: Ref,
    opts: UploadOptions,
    staged: Staged,
    tmp_path: Path | None,
    default_quota: int,
    policy: versions.Policy,
    hold: bool,
) -> tuple[Node, bool]:
    """Returns the file and whether it was created; with `hold` the revision waits in `processing`."""
    # Listing the new blob as garbage-to-be need not be durable: lost, it only leaks space.
    with transaction(db, durable=False):
        loc = _admissible(db, ref, opts, staged.size, default_quota)
        parent = loc.parent_folder()
        old = loc.node
        node_id = old.id if old else tree.new_id()
        name = tree.blob_name(node_id, staged.rev)
        garbage.mark(db, [name])
    blobs.place(tmp_path, name)
    with transaction(db):
        now = time.time_ns()
        node = Node(
            node_id,
            ref.space,
            parent.id,
            loc.name,
            FILE,
            staged.size,
            opts.mtime or now,
            tree.new_etag(),
            staged.rev,
            staged.sha1,
            staged.md5,
            staged.adler32,
            mime_of(loc.name),
        )
        kept = old if old is not None and old.rev and policy.enabled else None  # a version of it stays
        jobs.new_revision(db, node, kept, hold, opts.user)
        if old is None:
            tree.insert(db, node)
        else:
            node.props = old.props
            tree.update_content(db, node)
        tree.propagate(db, parent.id, staged.size - (old.size if old else 0), now)
        garbage.unmark(db, [name])
        dropped = versions.supersede(db, old, policy) if old else []
        dropped += versions.fit_quota(db, ref.space, default_quota, policy)
        garbage.mark(db, dropped)
        result = fill(db, node, loc.path)
    garbage.collect(db, blobs, dropped)
    return result, old is None
