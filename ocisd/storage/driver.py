"""The storage-driver extension point: what a driver must do, and `load(config)` to pick one.

`driver = "local"` (default) is SQLite metadata + local blob files; any other
value is a `module:Class` path to a `Base` subclass, so a third party can ship
an S3 or PostgreSQL driver without touching ocisd.
"""

from __future__ import annotations

import abc
import asyncio
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ocisd.api.storage.v1 import errors
from ocisd.plugins import load_class
from ocisd.sql import Engine

from . import resources as res
from .resources import Grant, LockInfo, Node, Reach, Ref, Space, Staged, TrashItem, UploadOptions, Version

BUILTIN = {"local": "ocisd.storage.local.driver:LocalDriver"}
COPY_BLOCK = 4 << 20


class UploadSink(Protocol):
    """Where an upload's bytes go while they arrive; `finish` makes them durable, `abort` drops them."""

    size: int

    async def write(self, data: bytes | Sequence[bytes]) -> None:
        """Append one buffer, or several pieces in order (as they came off the socket, not joined)."""

    async def finish(self) -> Staged: ...
    async def abort(self) -> None: ...


class Base(abc.ABC):
    """A storage driver. Every method raises `errors.StorageError` for what the caller did wrong."""

    keep_versions = True  # overwrites keep the previous revision; the service sets it before `open`
    # New revisions wait in `processing` with a job (postprocessing steps are configured); set before `open`.
    hold_revisions = False
    # Called after a commit that queued postprocessing jobs (the service rings the bus with it).
    on_queued: Callable[[], None] = staticmethod(lambda: None)
    # The instance's PostgreSQL schema when `metadata=postgres` (set before `open`): metadata, upload-session
    # records and used upload URLs live there instead of SQLite files in the data dir.
    sql: Engine | None = None

    def __init__(self, config: Any, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir

    @abc.abstractmethod
    async def open(self) -> None:
        """Prepare storage and clean up after a crash (interrupted uploads)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release what `open` acquired."""

    @abc.abstractmethod
    async def ensure_space(self, space_id: str, owner: str) -> Node:
        """The space's root, creating the space if it does not exist."""

    @abc.abstractmethod
    async def space(self, space_id: str) -> Space | None: ...

    @abc.abstractmethod
    async def stat(self, ref: Ref) -> Node: ...

    @abc.abstractmethod
    async def list_folder(self, ref: Ref, after: str, limit: int) -> tuple[Node, list[Node], bool]:
        """The folder, up to `limit` children named after `after` in name order, and whether more follow."""

    @abc.abstractmethod
    async def mkdir(self, ref: Ref, tokens: tuple[str, ...], mtime: int) -> Node: ...

    @abc.abstractmethod
    async def delete(self, ref: Ref, tokens: tuple[str, ...], if_match: str, user: str = "") -> list[str]:
        """Remove the node and its subtree: into the space's trash bin (noting `user` as who deleted it)
        when the driver keeps one, else for good. Their grants go with them: returns the ids of the
        nodes that carried some (the sharing service drops their shares)."""

    @abc.abstractmethod
    async def move(self, src: Ref, dst: Ref, overwrite: bool, tokens: tuple[str, ...], mtime: int) -> tuple[Node, bool]:
        """Returns the moved node and whether an existing destination was replaced."""

    @abc.abstractmethod
    async def copy(
        self, src: Ref, dst: Ref, overwrite: bool, tokens: tuple[str, ...], shallow: bool, mtime: int, user: str = ""
    ) -> tuple[Node, bool]:
        """Copied files are new revisions (held like uploads, `user` their uploader)."""

    @abc.abstractmethod
    async def set_props(self, ref: Ref, props: dict[str, str], tokens: tuple[str, ...]) -> Node: ...

    @abc.abstractmethod
    async def unset_props(self, ref: Ref, keys: list[str], tokens: tuple[str, ...]) -> Node: ...

    @abc.abstractmethod
    async def lock(
        self, ref: Ref, exclusive: bool, depth_infinity: bool, owner: str, timeout: int, user: str
    ) -> tuple[LockInfo, Node, bool]:
        """Take a lock; a missing target (parent present) becomes an empty file (`True`)."""

    @abc.abstractmethod
    async def refresh_lock(self, ref: Ref, token: str, timeout: int) -> LockInfo: ...

    @abc.abstractmethod
    async def unlock(self, ref: Ref, token: str) -> None: ...

    @abc.abstractmethod
    async def locks(self, ref: Ref) -> list[LockInfo]: ...

    @abc.abstractmethod
    async def check_upload(self, ref: Ref, opts: UploadOptions) -> bool:
        """Everything an upload to `ref` must satisfy, checked up front; True if it would replace a file."""

    @abc.abstractmethod
    async def open_upload(self) -> UploadSink: ...

    @abc.abstractmethod
    async def commit_upload(self, ref: Ref, opts: UploadOptions, sink: UploadSink) -> tuple[Node, bool]:
        """Make finished bytes the file's new content atomically; True if the file was created."""

    async def commit_file(self, ref: Ref, opts: UploadOptions, staged: Staged, path: Path) -> tuple[Node, bool]:
        """Commit a complete, fsynced local file whose digests are `staged` (resumable uploads).

        The file is consumed on success (a driver on the same disk renames it, with
        `staged.rev` as the new revision) and left in place on refusal. This default
        streams it through `open_upload`, so any driver supports upload sessions.
        """
        sink = await self.open_upload()
        try:
            f = await asyncio.to_thread(path.open, "rb", buffering=0)
            try:
                while data := await asyncio.to_thread(f.read, COPY_BLOCK):
                    await sink.write(data)
            finally:
                f.close()
        except BaseException:
            await sink.abort()
            raise
        result = await self.commit_upload(ref, opts, sink)
        await asyncio.to_thread(path.unlink)
        return result

    @abc.abstractmethod
    async def download(self, ref: Ref, revision: str = "") -> tuple[Node, Path | None]:
        """The file and a local path to `sendfile` (None for an empty file). Refused (FAILED_PRECONDITION
        `processing` / `blocked`) while its revision may not be downloaded, unless `revision` names the
        current revision (a postprocessing step reads it; etag-mismatch once it is no longer current)."""

    @abc.abstractmethod
    async def quota(self, space_id: str) -> tuple[int, int]:
        """(total bytes, 0 = unlimited; used bytes) of the space, whose own quota or the configured one."""

    @abc.abstractmethod
    async def set_quota(self, space_id: str, owner: str, total: int) -> None:
        """Give the space its own quota (bytes, 0 = unlimited); a missing space is made for `owner` with it.

        Every write that adds bytes to a space (upload commit, copy, restore) checks the
        quota in the same step as the change, so concurrent writes never overshoot it.
        """

    async def free_bytes(self) -> int:
        """Bytes the storage itself can still take (what an unlimited space reports as available)."""
        return (await asyncio.to_thread(shutil.disk_usage, self.data_dir)).free

    @abc.abstractmethod
    async def bulk_create(self, parent: Ref, names: list[str], folders: bool) -> int:
        """Create many empty children at once (imports, benchmarks); returns how many."""

    async def trash_items(self, space_id: str) -> list[TrashItem]:
        """The space's trash bin, newest deletion first."""
        raise _unsupported(self, "no-trash", "keeps no trash bin")

    async def restore_trash(self, space_id: str, key: str, dst: Ref, tokens: tuple[str, ...]) -> Node:
        """Put the item back at `dst` in its space, keeping its ids; the parent must exist and the name be free."""
        raise _unsupported(self, "no-trash", "keeps no trash bin")

    async def purge_trash(self, space_id: str, key: str) -> int:
        """Purge one item for good, or every item of the space when `key` is empty; how many went."""
        raise _unsupported(self, "no-trash", "keeps no trash bin")

    async def purge_expired_trash(self, before: float) -> int:
        """Purge the items of every space deleted before `before` (unix seconds); how many went."""
        raise _unsupported(self, "no-trash", "keeps no trash bin")

    async def search(self, ref: Ref, pattern: str, favorites: bool, limit: int, offset: int) -> tuple[list[Node], int]:
        """Below the folder `ref`: names containing `pattern` (case-insensitive), favorites only if asked;
        a page of them with their paths, ordered by name, and how many there are in all."""
        raise _unsupported(self, "no-search", "cannot search")

    async def list_versions(self, ref: Ref) -> tuple[Node, list[Version]]:
        """The file and its kept revisions, newest first (every overwrite keeps one, retention thins them)."""
        raise _unsupported(self, "no-versions", "keeps no versions")

    async def download_version(self, ref: Ref, key: str) -> tuple[Node, Path | None]:
        """The file as it was in version `key` (size, mtime, etag, checksums) and a local path to its bytes."""
        raise _unsupported(self, "no-versions", "keeps no versions")

    async def restore_version(self, ref: Ref, key: str, tokens: tuple[str, ...]) -> Node:
        """Make version `key` the file's content again (a new etag); the current content becomes a version."""
        raise _unsupported(self, "no-versions", "keeps no versions")

    async def reach(self, ref: Ref) -> Reach:
        """The way to `ref`'s target and the grants on it (see `Reach`); NOT_FOUND only for a base node
        missing from `ref.space`, whatever lies below it (a caller without grants must learn nothing)."""
        raise _unsupported(self, "no-grants", "keeps no grants")

    async def add_grant(self, ref: Ref, grant: Grant) -> None:
        """Give `grant` on the existing node at `ref`, replacing that grantee's grant there."""
        raise _unsupported(self, "no-grants", "keeps no grants")

    async def remove_grant(self, ref: Ref, grantee_type: str, grantee: str) -> None:
        """Remove the grantee's grant on the node (NOT_FOUND if it has none)."""
        raise _unsupported(self, "no-grants", "keeps no grants")

    async def grants(self, ref: Ref) -> list[Grant]:
        """The grants on the node itself (not those inherited from above)."""
        raise _unsupported(self, "no-grants", "keeps no grants")

    async def grants_on(self, node_ids: list[str]) -> list[Grant]:
        """The grants on these nodes (a listing's children), each with its `node`."""
        raise _unsupported(self, "no-grants", "keeps no grants")

    async def claim_jobs(self, worker: str, limit: int, lease: float) -> list[res.Job]:
        """Lease up to `limit` due postprocessing jobs to `worker` for `lease` seconds."""
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def renew_jobs(self, worker: str, ids: list[int], lease: float) -> list[int]:
        """Extend the worker's unexpired leases; the ids it still holds."""
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def complete_job(self, job_id: int, worker: str, outcome: res.Outcome) -> res.Completion:
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def list_jobs(self, failed_only: bool) -> list[res.Job]:
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def retry_jobs(self, ids: list[int] | None) -> list[res.Job]:
        """Failed jobs (these ids, or all with None) queued again; returns them."""
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def create_scan(self, ref: Ref, creator: str, scan_id: str) -> res.Scan:
        """Queue a virus scan of the file or of every file below the folder."""
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def get_scan(self, space_id: str, scan_id: str) -> res.Scan | None:
        raise _unsupported(self, "no-processing", "keeps no postprocessing queue")

    async def create_space(self, space: Space, manager: Grant | None) -> None:
        """A new space (a project space: owner "") with its root and its first manager's grant on it;
        ALREADY_EXISTS for a taken id."""
        raise _unsupported(self, "no-spaces", "keeps no project spaces")

    async def update_space(self, space_id: str, changes: dict[str, Any]) -> None:
        """Set some of name, description, alias, quota (bytes, 0 = unlimited), disabled."""
        raise _unsupported(self, "no-spaces", "keeps no project spaces")

    async def space_states(self, ids: list[str], grantees: list[tuple[str, str]], every: bool) -> list[res.SpaceState]:
        """The spaces `ids` names and those whose root carries a grant for one of `grantees` ((type, id)),
        or every space, with roots, quotas and use; fast for a member of many spaces."""
        raise _unsupported(self, "no-spaces", "keeps no project spaces")

    async def purge_space(self, space_id: str) -> list[str]:
        """Remove a space with everything in it (nodes, blobs, versions, trash, grants, locks, jobs);
        returns the nodes that carried grants."""
        raise _unsupported(self, "no-spaces", "keeps no project spaces")


def _unsupported(driver: Base, reason: str, what: str) -> errors.StorageError:
    return errors.StorageError(errors.Kind.UNSUPPORTED, reason, f"{type(driver).__name__} {what}")


def driver_class(config: Any, key: str = "driver") -> type[Base]:
    """The class `config.driver` names: a built-in name or `module:Class` (ConfigError naming `key` if neither)."""
    cls: type[Base] = load_class(config.driver, BUILTIN, Base, key, "a storage driver")
    return cls


def load(config: Any, data_dir: Path) -> Base:
    """An instance of the driver named by `config.driver`."""
    return driver_class(config)(config, data_dir)
