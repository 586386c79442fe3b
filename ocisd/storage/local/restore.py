"""Restoring a kept version: its bytes become the file's new revision, and the current one a version.

Same steps as an upload commit: (1) check and list the new blob as garbage-to-be,
(2) hard-link the version's immutable blob to the new revision's name and fsync,
(3) point the node at it, keep the old revision and propagate in one
transaction. A crash leaves the old state (the link is collected at start) or the new.
"""

from __future__ import annotations

import sqlite3
import time

from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import FILE, Node, Ref

from . import garbage, jobs, locks, tree, versions
from .database import transaction
from .locate import fill, locate_existing


def restore(
    db: sqlite3.Connection,
    blobs: BlobStore,
    ref: Ref,
    key: str,
    tokens: tuple[str, ...],
    default_quota: int,
    policy: versions.Policy,
) -> Node:
    with transaction(db, durable=False):
        loc = locate_existing(db, ref)
        node = loc.existing()
        if node.is_folder:
            raise errors.precondition("is-a-container", f"{loc.path} is a folder")
        version = versions.get(db, node.id, key)
        if version is None:
            raise errors.not_found(f"{loc.path} has no version {key!r}")
        parent = loc.parent_folder()
        locks.check(db, ref.space, [loc.path], tokens, recursive=False)
        tree.check_quota(db, ref.space, version.size - node.size, default_quota)
        rev = tree.new_id()[:16]
        name = tree.blob_name(node.id, rev)
        garbage.mark(db, [name])
    # The writer thread runs this whole function, so nothing changes between the transactions.
    blobs.link(version.blob, name)
    blobs.sync_dirs([name])
    with transaction(db):
        restored = Node(
            node.id, node.space, node.parent, node.name, FILE, version.size, version.mtime, tree.new_etag(), rev,
            version.sha1, version.md5, version.adler32, node.mime, node.props,
        )  # fmt: skip
        restored.status, restored.downloadable = node.status, node.downloadable  # a restore keeps the state
        restored.scan_status, restored.scan_time, restored.scan_partial = "", 0, False
        jobs.follow(db, node.id, rev)
        dropped = versions.supersede(db, node, policy) + versions.drop(db, node.id, key)
        tree.update_content(db, restored)
        tree.propagate(db, parent.id, version.size - node.size, time.time_ns())
        garbage.unmark(db, [name])
        dropped += versions.fit_quota(db, ref.space, default_quota, policy)
        garbage.mark(db, dropped)
        result = fill(db, restored, loc.path)
    garbage.collect(db, blobs, dropped)
    return result
