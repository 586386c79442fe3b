"""A session's bytes as the parts of one multipart upload, where blobs are objects (S3).

The session's local file (`data` for appends, `assembled` for joined chunks)
keeps its offsets, but each whole PART of durable, recorded bytes past the
uploaded ones goes to the store as the next part; the part's etag is recorded
in the session's record, and only then is its range punched out of the file (a
sparse hole). Local disk so holds about a part plus one write checkpoint per
session, never the whole file. The record keeps the revision, the upload id and
the parts, so a restart continues the same upload; a part sent but not recorded
(a crash in between) is sent again under its number, which replaces it.
Finishing sends the rest as the last part (S3 lets only the last be smaller than
5 MiB) and completes the upload into the blob of that revision; the driver then
commits the metadata. Expiry and deletion abort the upload; one a crash
orphaned is collected by the blob store's sweep of abandoned uploads.

Bytes are hashed as they arrive; a process that starts hashing after parts were
punched (a restart) cannot see them any more, and hashes the completed object
by reading it back instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import secrets
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ocisd.api.storage.v1 import errors
from ocisd.logs import get_logger
from ocisd.storage.checksums import Hasher
from ocisd.storage.resources import Staged

from .records import Session, SessionRecords

log = get_logger("storage.sessions")

PART = 8 << 20  # bytes per part: S3's minimum is 5 MiB for all parts but the last
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
SEEK_DATA, SEEK_HOLE = getattr(os, "SEEK_DATA", 3), getattr(os, "SEEK_HOLE", 4)


class PartStore(Protocol):
    """What a blob store whose blobs are objects offers resumable uploads: one multipart upload per
    session, completed into the blob of revision `rev` (which the driver's commit then references)."""

    async def begin(self, rev: str) -> str:
        """A new multipart upload for `rev`; its id."""

    async def put_part(self, rev: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part `number` (1-based), replacing an earlier one of that number; its etag."""

    async def complete(self, rev: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the parts into the blob of `rev`; done already (a retried finish) is no error."""

    async def abort(self, rev: str, upload_id: str) -> None:
        """Drop the upload and its parts; a missing one is no error."""

    def read(self, rev: str, size: int) -> AsyncGenerator[bytes, None]:
        """The completed blob's bytes, in pieces (hashing after a restart)."""
        ...


@dataclass
class Upload:
    """A session's multipart upload, as its record keeps it."""

    rev: str
    upload_id: str
    parts: list[tuple[int, str, int]] = field(default_factory=list)  # (number, etag, size), in order

    @property
    def sent(self) -> int:
        return sum(size for _, _, size in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {"rev": self.rev, "upload_id": self.upload_id, "parts": [list(p) for p in self.parts]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Upload:
        return cls(str(value["rev"]), str(value["upload_id"]), [(int(n), str(e), int(s)) for n, e, s in value["parts"]])


class Stored:
    """The driver's upload sink for bytes a completed multipart upload stored as the blob of `staged.rev`."""

    path = None

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.rev = staged.rev
        self.size = staged.size

    async def write(self, data: bytes | Sequence[bytes]) -> None:
        raise AssertionError("the bytes are stored already")

    async def finish(self) -> Staged:
        return self.staged

    async def abort(self) -> None:
        """A refused commit keeps the object: the session may finish again (else the blob store's sweep takes it)."""


class SessionUploads:
    """The sessions' multipart uploads in `store`, kept in their records (`Session.multipart`)."""

    def __init__(self, store: PartStore, records: SessionRecords) -> None:
        self.store = store
        self.records = records

    async def begin(self, s: Session) -> None:
        """Start the upload of a new session (stored with its record)."""
        rev = secrets.token_hex(8)
        s.multipart = Upload(rev, await self.store.begin(rev)).to_json()

    async def send(self, s: Session, path: Path, end: int, last: bool) -> Upload:
        """Send the whole parts of `path` between what was sent and `end` (with `last`, the rest too);
        each is recorded, then punched out of the file."""
        upload = Upload.from_json(s.multipart)
        while end - upload.sent >= PART or (last and end > upload.sent):
            offset, size = upload.sent, min(PART, end - upload.sent)
            data = await asyncio.to_thread(_read, path, offset, size)
            number = len(upload.parts) + 1
            etag = await self.store.put_part(upload.rev, upload.upload_id, number, data)
            upload.parts.append((number, etag, size))
            s.multipart = upload.to_json()
            await self.records.set_multipart(s.id, s.multipart)
            await asyncio.to_thread(_punch, path, offset, size)
        return upload

    async def complete(self, s: Session, path: Path, size: int, digests: dict[str, str] | None) -> Staged:
        """Send the rest of `path` (`size` bytes in all) and complete the upload into its revision's blob;
        `digests` None: hashed by reading the blob back."""
        upload = await self.send(s, path, size, True)
        await self.store.complete(upload.rev, upload.upload_id, [(n, etag) for n, etag, _ in upload.parts])
        if digests is None:
            hasher = Hasher()
            async with aclosing(self.store.read(upload.rev, upload.sent)) as pieces:
                async for piece in pieces:
                    await asyncio.to_thread(_feed, hasher, piece)
            digests = hasher.digests()
        return Staged(upload.rev, size, digests["SHA1"], digests["MD5"], digests["ADLER32"])

    async def abort(self, s: Session) -> None:
        """Drop the session's upload; a failure is logged (the blob store's sweep aborts it later)."""
        upload = Upload.from_json(s.multipart)
        try:
            await self.store.abort(upload.rev, upload.upload_id)
        except errors.StorageError as exc:
            log.warning("aborting a multipart upload failed", session=s.id, error=exc.message)


def punched(path: Path) -> bool:
    """The file has a hole at its start: sent parts, whose bytes only the store has now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        return os.lseek(fd, 0, SEEK_DATA) > 0
    except OSError:  # ENXIO: no data at all (a hole to the end, or empty)
        return os.fstat(fd).st_size > 0
    finally:
        os.close(fd)


def _feed(hasher: Hasher, piece: bytes) -> None:
    hasher.md5_pieces((piece,))
    hasher.sha1_adler_pieces((piece,))


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb", buffering=0) as f:
        if size and os.lseek(f.fileno(), offset, SEEK_HOLE) < offset + size:  # never send a sent part's hole
            raise OSError(f"{path} has no bytes at {offset}: they were sent already")
        data = os.pread(f.fileno(), size, offset)
    if len(data) != size:
        raise OSError(f"{path} ends before the {size} bytes at {offset} the session recorded")
    return data


def _punch(path: Path, offset: int, size: int) -> None:
    """Free the disk blocks of a sent range, keeping the file's length and offsets (best effort)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        _fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, size)
    finally:
        os.close(fd)


def _fallocate_call() -> Callable[[int, int, int, int], int]:
    try:
        func = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).fallocate64
    except (OSError, AttributeError):
        return lambda fd, mode, offset, size: 0  # no hole punching here: the bytes only stay on disk
    func.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    func.restype = ctypes.c_int
    call: Callable[[int, int, int, int], int] = func
    return call


_fallocate = _fallocate_call()
