"""Where file contents live: the blob-store extension point, chosen by the `blobs` setting.

A blob is the immutable bytes of one file revision, named `<node id>.<rev>`
(`tree.blob_name`); `rev` is random and never reused, so a store may key a
blob by it alone. The metadata decides which blobs exist: a new blob is listed
in `blob_gc` before it is placed and unlisted in the commit that references it,
and a blob that loses its last reference is listed in that same transaction,
so a crash at any point leaves garbage to collect, never a visible file
without bytes.

`local` keeps each blob as a file in the data dir (sendfile, hard links);
`s3` keeps it as an object under `<instance key>/` in a bucket (multipart
uploads, ranged GETs, server-side copies).

The synchronous calls (`place`, `link`, `sync_dirs`, `remove`) run on the
metadata writer thread between the transactions that list and unlist the
names; everything else runs on the event loop.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import Staged


@runtime_checkable
class BlobSink(Protocol):
    """One upload in progress (the driver's `UploadSink`): bytes and their checksums as they arrive."""

    rev: str  # the revision the bytes become: `place` takes them under a name ending in it
    size: int
    path: Path | None  # the local temp file holding them, None when they are stored under their key already

    async def write(self, data: bytes | Sequence[bytes]) -> None:
        """Append one buffer, or several pieces in order; a failure of the store raises StorageError."""

    async def finish(self) -> Staged:
        """Make the bytes durable in the store (not yet a blob any file references); their digests."""

    async def abort(self) -> None:
        """Drop whatever was stored; never raises for the store being gone."""


class BlobReader(Protocol):
    """A blob's bytes by span, for a store whose blobs are no local files (the data server streams them)."""

    size: int

    def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        """`count` bytes from `offset`, in pieces as they arrive (never the whole blob at once)."""
        ...


# Given candidate revisions, those the metadata still references (asked by a store's garbage sweep).
Referenced = Callable[[list[str]], Awaitable[set[str]]]


class BlobStore(abc.ABC):
    """Every call that reaches a remote store raises StorageError UNAVAILABLE when it cannot."""

    local_files = False  # blobs are files on this host: `place` takes a complete local file without a copy

    @abc.abstractmethod
    async def open(self) -> int:
        """Check the store is usable (a clear error if not) and drop leftovers of uploads a crash
        interrupted that the store can find alone; returns how many it dropped."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def sink(self) -> BlobSink:
        """A new upload with a fresh revision."""

    @abc.abstractmethod
    def place(self, source: Path | None, name: str) -> None:
        """Make finished bytes the blob `name`, durably: `source` is the sink's `path` (a local store
        renames it; a complete local file of a resumable upload is accepted too) or None when the
        sink stored them under their key already (then `name` ends in that sink's `rev`)."""

    @abc.abstractmethod
    def link(self, source: str, name: str) -> None:
        """Blob `name` gets the bytes of blob `source` (a copy or restore); each may go on its own."""

    @abc.abstractmethod
    def sync_dirs(self, names: list[str]) -> None:
        """Make the new names of `link` durable (a store whose writes are durable has nothing to do)."""

    @abc.abstractmethod
    def remove(self, names: list[str]) -> None:
        """Delete these blobs; missing ones are no error. When the store cannot be reached it raises
        (UNAVAILABLE) and the caller leaves the names listed for a later pass."""

    @abc.abstractmethod
    def content(self, name: str, size: int) -> Path | BlobReader:
        """What the data server sends for blob `name` of `size` bytes: a local file (sendfile,
        hand-over) or a ranged reader. No I/O: a missing blob shows when it is read."""

    async def sweep(self, referenced: Referenced, older_than: float) -> int:
        """Delete what the store holds that no metadata references and that is older than `older_than`
        seconds (a crash between the bytes and the commit, abandoned multipart uploads); how many.
        Runs at start and periodically; a store whose leftovers `open` finds has nothing to do."""
        return 0


def unavailable(message: str) -> errors.StorageError:
    """The blob store cannot be reached or refused: the data server answers 503, gRPC UNAVAILABLE."""
    return errors.StorageError(errors.Kind.UNAVAILABLE, "blobs-unavailable", message)


def load(config: Any, data_dir: Path, instance: str) -> BlobStore:
    """The store `config.blobs` names: `local` under `data_dir/blobs`, `s3` under `instance/` in the bucket."""
    if config.blobs == "local":
        from .local import LocalBlobs

        return LocalBlobs(data_dir / "blobs")
    if config.blobs == "s3":
        from .s3 import S3Blobs

        return S3Blobs(config, instance)
    raise errors.invalid("blobs", f"blobs: expected `local` or `s3`, found {config.blobs!r}")
