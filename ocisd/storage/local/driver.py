"""The `local` driver: metadata in SQLite (WAL) in the data dir or in PostgreSQL (`sql`), bytes in `blobs/`."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ocisd.api.postprocessing.v1.contract import PROCESSING, REASON_BLOCKED, REASON_PROCESSING
from ocisd.api.storage.v1 import errors
from ocisd.logs import get_logger
from ocisd.sql.database import snapshot
from ocisd.storage.driver import Base, UploadSink
from ocisd.storage.resources import (
    FILE,
    FOLDER,
    FOLDER_MIME,
    Completion,
    Grant,
    Job,
    LockInfo,
    Node,
    Outcome,
    Reach,
    Ref,
    Scan,
    Space,
    SpaceState,
    Staged,
    TrashItem,
    UploadOptions,
    Version,
    check_name,
)

from . import (
    changes,
    garbage,
    grants,
    jobs,
    locks,
    outcomes,
    restore,
    scans,
    search,
    spaces,
    trash,
    trash_changes,
    tree,
    uploads,
    versions,
)
from .blobs import BlobStore, Sink
from .database import Database, transaction
from .locate import existing, fill, locate_existing

log = get_logger("storage.local")
T = TypeVar("T")


class LocalDriver(Base):
    _db: Database
    _blobs: BlobStore
    clock: Callable[[], float] = staticmethod(time.time)  # when a deletion happened (tests pass a fake one)

    async def open(self) -> None:
        cfg = self.config
        # Tests replace `policy.clock` to see retention at any age.
        self.policy = versions.Policy(
            self.keep_versions, cfg.versions_max, cfg.versions_ladder, cfg.versions_count_quota
        )
        self._blobs = BlobStore(self.data_dir / "blobs")
        self._db = Database(self.sql or self.data_dir / "metadata.db")
        # Point lookups (a path's few index probes) run right here on SQLite: a hop to a reader thread
        # costs more than the lookup. On PostgreSQL they are network round trips: the readers do them.
        self._here = None if self.sql else tree.connect(self.data_dir / "metadata.db")
        cleaned = await asyncio.to_thread(self._blobs.clean_tmp)
        orphans = await self._db.write(garbage.collect_all, self._blobs)
        if cleaned or orphans:
            log.info("cleaned up after interrupted uploads", temp_files=cleaned, orphan_blobs=orphans)

    async def close(self) -> None:
        await asyncio.to_thread(self._db.close)
        if self._here is not None:
            self._here.close()
        await asyncio.to_thread(self._blobs.close)

    @property
    def _quota(self) -> int:
        """The configured quota: what a new space keeps, and what a space made before per-space quotas follows."""
        return int(self.config.quota)

    async def ensure_space(self, space_id: str, owner: str) -> Node:
        node = await self._db.read(tree.get, space_id)
        if node is not None:
            return await self.stat(Ref(space=space_id, path="/"))
        return await self._db.write(changes.ensure_space, space_id, owner, self._quota)

    async def space(self, space_id: str) -> Space | None:
        return await self._db.read(spaces.get, space_id)

    async def create_space(self, space: Space, manager: Grant | None) -> None:
        await self._db.write(spaces.create, space, manager)

    async def update_space(self, space_id: str, changes: dict[str, Any]) -> None:
        await self._db.write(spaces.update, space_id, changes)

    async def space_states(self, ids: list[str], grantees: list[tuple[str, str]], every: bool) -> list[SpaceState]:
        return await self._db.read(spaces.states, ids, grantees, every, self._quota, self.policy.count_quota)

    async def purge_space(self, space_id: str) -> list[str]:
        return await self._db.write(spaces.purge, self._blobs, space_id)

    async def _point(self, fn: Callable[..., T], *args: Any) -> T:
        """A point lookup in one read transaction: here on SQLite (WAL: never waits), on a reader otherwise."""
        return snapshot(self._here, fn, args) if self._here is not None else await self._db.read(fn, *args)

    async def stat(self, ref: Ref) -> Node:
        return await self._point(existing, ref)

    async def list_folder(self, ref: Ref, after: str, limit: int) -> tuple[Node, list[Node], bool]:
        return await self._db.read(_list, ref, after, limit)

    async def mkdir(self, ref: Ref, tokens: tuple[str, ...], mtime: int) -> Node:
        return await self._db.write(changes.mkdir, ref, tokens, mtime)

    async def delete(self, ref: Ref, tokens: tuple[str, ...], if_match: str, user: str = "") -> list[str]:
        when = self.clock() if self.config.trash_bin else None
        return await self._db.write(changes.delete, self._blobs, ref, tokens, if_match, user, when)

    async def reach(self, ref: Ref) -> Reach:
        return await self._point(grants.reach, ref)

    async def add_grant(self, ref: Ref, grant: Grant) -> None:
        await self._db.write(grants.add, ref, grant)

    async def remove_grant(self, ref: Ref, grantee_type: str, grantee: str) -> None:
        await self._db.write(grants.remove, ref, grantee_type, grantee)

    async def grants(self, ref: Ref) -> list[Grant]:
        return await self._db.read(grants.listing, ref)

    async def grants_on(self, node_ids: list[str]) -> list[Grant]:
        return await self._db.read(grants.on, node_ids)

    async def trash_items(self, space_id: str) -> list[TrashItem]:
        return await self._db.read(trash.items, space_id)

    async def restore_trash(self, space_id: str, key: str, dst: Ref, tokens: tuple[str, ...]) -> Node:
        return await self._db.write(trash_changes.restore, space_id, key, dst, tokens)

    async def purge_trash(self, space_id: str, key: str) -> int:
        return await self._db.write(trash_changes.purge, self._blobs, space_id, key)

    async def purge_expired_trash(self, before: float) -> int:
        return await self._db.write(trash_changes.purge_expired, self._blobs, before)

    async def move(self, src: Ref, dst: Ref, overwrite: bool, tokens: tuple[str, ...], mtime: int) -> tuple[Node, bool]:
        _same_space(src, dst)
        return await self._db.write(changes.move, self._blobs, self.policy, src, dst, overwrite, tokens, mtime)

    async def copy(
        self, src: Ref, dst: Ref, overwrite: bool, tokens: tuple[str, ...], shallow: bool, mtime: int, user: str = ""
    ) -> tuple[Node, bool]:
        _same_space(src, dst)
        node, replaced, queued = await self._db.write(
            changes.copy, self._blobs, src, dst, overwrite, tokens, shallow, mtime, self._quota, self.policy,
            self.hold_revisions, user,
        )  # fmt: skip
        if queued:
            self.on_queued()
        return node, replaced

    async def set_props(self, ref: Ref, props: dict[str, str], tokens: tuple[str, ...]) -> Node:
        return await self._db.write(changes.set_props, ref, props, [], tokens)

    async def unset_props(self, ref: Ref, keys: list[str], tokens: tuple[str, ...]) -> Node:
        return await self._db.write(changes.set_props, ref, {}, keys, tokens)

    async def lock(
        self, ref: Ref, exclusive: bool, depth_infinity: bool, owner: str, timeout: int, user: str
    ) -> tuple[LockInfo, Node, bool]:
        return await self._db.write(changes.lock, ref, exclusive, depth_infinity, owner, timeout, user)

    async def refresh_lock(self, ref: Ref, token: str, timeout: int) -> LockInfo:
        return await self._db.write(changes.refresh_lock, ref, token, timeout)

    async def unlock(self, ref: Ref, token: str) -> None:
        await self._db.write(changes.unlock, ref, token)

    async def locks(self, ref: Ref) -> list[LockInfo]:
        return (await self.stat(ref)).locks

    async def search(self, ref: Ref, pattern: str, favorites: bool, limit: int, offset: int) -> tuple[list[Node], int]:
        return await self._db.read(search.search, ref, pattern, favorites, limit, offset)

    async def check_upload(self, ref: Ref, opts: UploadOptions) -> bool:
        return await self._db.read(uploads.check, ref, opts, self._quota)

    async def open_upload(self) -> UploadSink:
        return await asyncio.to_thread(self._blobs.sink)

    async def commit_upload(self, ref: Ref, opts: UploadOptions, sink: UploadSink) -> tuple[Node, bool]:
        assert isinstance(sink, Sink)
        staged = await sink.finish()
        try:
            return await self._commit(ref, opts, staged, sink.path)
        finally:
            sink.path.unlink(missing_ok=True)  # still there only when the commit refused it

    async def commit_file(self, ref: Ref, opts: UploadOptions, staged: Staged, path: Path) -> tuple[Node, bool]:
        return await self._commit(ref, opts, staged, path)  # renamed into the blob store, no copy

    async def _commit(self, ref: Ref, opts: UploadOptions, staged: Staged, path: Path) -> tuple[Node, bool]:
        uploads.verify_staged(opts, staged)
        node, created = await self._db.write(
            uploads.commit, self._blobs, ref, opts, staged, path, self._quota, self.policy, self.hold_revisions
        )
        if node.status == PROCESSING:
            self.on_queued()
        return node, created

    async def download(self, ref: Ref, revision: str = "") -> tuple[Node, Path | None]:
        node = await self.stat(ref)
        if node.is_folder:
            raise errors.precondition("is-a-container", f"{node.path} is a folder")
        downloadable(node, revision)
        return node, self._blobs.path(tree.blob_name(node.id, node.rev)) if node.rev else None

    async def claim_jobs(self, worker: str, limit: int, lease: float) -> list[Job]:
        found = await self._db.write(_claim, worker, limit, lease)
        for job in found:  # paths now, outside the writer
            job.path = await self._db.read(tree.path_of, job.node)
        return found

    async def renew_jobs(self, worker: str, ids: list[int], lease: float) -> list[int]:
        return await self._db.write(_renew, worker, ids, lease)

    async def complete_job(self, job_id: int, worker: str, outcome: Outcome) -> Completion:
        done = await self._db.write(outcomes.complete, self._blobs, job_id, worker, outcome)
        if done.node is not None and done.node.status == PROCESSING and done.state == "done":
            self.on_queued()  # a removed revision's predecessor runs its steps again
        return done

    async def list_jobs(self, failed_only: bool) -> list[Job]:
        found = await self._db.read(jobs.listing, failed_only)
        for job in found:
            job.path = await self._db.read(tree.path_of, job.node)
        return found

    async def retry_jobs(self, ids: list[int] | None) -> list[Job]:
        again = await self._db.write(_retry, ids)
        if again:
            self.on_queued()
        return again

    async def create_scan(self, ref: Ref, creator: str, scan_id: str) -> Scan:
        scan = await self._db.write(scans.create, ref, creator, scan_id)
        if scan.files:
            self.on_queued()
        return scan

    async def get_scan(self, space_id: str, scan_id: str) -> Scan | None:
        return await self._db.read(scans.get, space_id, scan_id)

    async def list_versions(self, ref: Ref) -> tuple[Node, list[Version]]:
        return await self._db.read(_versions, ref)

    async def download_version(self, ref: Ref, key: str) -> tuple[Node, Path | None]:
        node, found = await self._db.read(_version, ref, key)
        return node, self._blobs.path(found.blob)

    async def restore_version(self, ref: Ref, key: str, tokens: tuple[str, ...]) -> Node:
        return await self._db.write(restore.restore, self._blobs, ref, key, tokens, self._quota, self.policy)

    async def quota(self, space_id: str) -> tuple[int, int]:
        return await self._db.read(_usage, space_id, self._quota, self.policy.count_quota)

    async def set_quota(self, space_id: str, owner: str, total: int) -> None:
        await self._db.write(changes.set_quota, space_id, owner, total)

    async def bulk_create(self, parent: Ref, names: list[str], folders: bool) -> int:
        return await self._db.write(_bulk_create, parent, names, folders)


def downloadable(node: Node, revision: str) -> None:
    """Refuse a revision postprocessing holds back; `revision` (a step's) reads the current one anyway."""
    if revision:
        if revision != node.rev:
            raise errors.precondition("etag-mismatch", f"{node.path}: revision {revision!r} is no longer current")
        return
    if not node.downloadable:
        reason = REASON_PROCESSING if node.status == PROCESSING else REASON_BLOCKED
        raise errors.precondition(reason, f"{node.path} is {node.status}")


def _claim(db: sqlite3.Connection, worker: str, limit: int, lease: float) -> list[Job]:
    with transaction(db):
        return jobs.claim(db, worker, limit, lease, time.time())


def _renew(db: sqlite3.Connection, worker: str, ids: list[int], lease: float) -> list[int]:
    with transaction(db):
        return jobs.renew(db, worker, ids, lease, time.time())


def _retry(db: sqlite3.Connection, ids: list[int] | None) -> list[Job]:
    with transaction(db):
        return jobs.retry(db, ids)


def _usage(db: sqlite3.Connection, space_id: str, default: int, with_versions: bool) -> tuple[int, int]:
    used = tree.space_used(db, space_id) + (versions.space_bytes(db, space_id) if with_versions else 0)
    return tree.space_quota(db, space_id, default), used


def _file(db: sqlite3.Connection, ref: Ref) -> Node:
    node = existing(db, ref)
    if node.is_folder:
        raise errors.precondition("is-a-container", f"{node.path} is a folder: folders have no versions")
    return node


def _versions(db: sqlite3.Connection, ref: Ref) -> tuple[Node, list[Version]]:
    node = _file(db, ref)
    return node, versions.listing(db, node.id)


def _version(db: sqlite3.Connection, ref: Ref, key: str) -> tuple[Node, Version]:
    """The file as it was in version `key`: its size, mtime, etag and checksums."""
    node = _file(db, ref)
    found = versions.get(db, node.id, key)
    if found is None:
        raise errors.not_found(f"{node.path} has no version {key!r}")
    node.size, node.mtime, node.etag = found.size, found.mtime, found.etag
    node.rev, node.sha1, node.md5, node.adler32 = found.key, found.sha1, found.md5, found.adler32
    return node, found


def _same_space(src: Ref, dst: Ref) -> None:
    if src.space != dst.space:
        raise errors.StorageError(errors.Kind.UNSUPPORTED, "cross-space", "moving between spaces is not supported")


def _list(db: sqlite3.Connection, ref: Ref, after: str, limit: int) -> tuple[Node, list[Node], bool]:
    loc = locate_existing(db, ref)
    folder = loc.existing()
    if not folder.is_folder:
        raise errors.precondition("not-a-container", f"{loc.path} is not a folder")
    active = locks.active(db, ref.space)
    fill(db, folder, loc.path, active)
    kids = tree.children(db, folder.id, after, limit + 1)
    base = loc.path.rstrip("/")
    for kid in kids[:limit]:
        fill(db, kid, f"{base}/{kid.name}", active)
    return folder, kids[:limit], len(kids) > limit


def _bulk_create(db: sqlite3.Connection, parent: Ref, names: list[str], folders: bool) -> int:
    with transaction(db):
        loc = locate_existing(db, parent)
        folder = loc.existing()
        now = time.time_ns()
        kind, mime = (FOLDER, FOLDER_MIME) if folders else (FILE, "application/octet-stream")
        tree.insert_many(
            db,
            (
                Node(tree.new_id(), parent.space, folder.id, check_name(n), kind, 0, now, tree.new_etag(), mime=mime)
                for n in names
            ),
        )
        tree.propagate(db, folder.id, 0, now)
    return len(names)
