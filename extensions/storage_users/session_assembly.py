"""Named chunks joined into one file and hashed while the upload is still arriving.

Chunking NG names each chunk by its offset and desktop clients send them in
order: every stored chunk that continues the joined bytes is appended to the
session's `assembled` file (fdatasynced) and fed to the running hashes in the
background, while the next chunk is on its way. Finishing then joins only what
is left. The join state is kept in memory only: after a restart, or when a
joined chunk was replaced, finishing starts again from the first chunk (each
append first cuts the file back to the joined length, and a join from the
first chunk starts a new file). The file is private to the session; it becomes
visible only through the driver's commit, which may rename a hard link of it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from functools import partial
from pathlib import Path
from typing import BinaryIO

from ocisd.logs import get_logger

from . import errors
from .checksums import Hasher
from .session_writes import write_all

log = get_logger("storage.sessions")
BLOCK = 4 << 20
# (name, size, inode, mtime ns): a chunk file as it was joined; a replaced chunk differs.
Piece = tuple[str, int, int, int]


class Join:
    """How far one session's chunks are joined: which chunk files, in order, and their running hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = asyncio.Lock()  # one join at a time; held while the session's files go away
        self.closed = False  # once finishing took the file: never written again
        self._reset()

    def _reset(self) -> None:
        self.pieces: list[Piece] = []
        self.size = 0
        self.hasher = Hasher()

    def extend(self, listing: list[Piece], lanes: tuple[Executor, Executor], ahead: bool) -> None:
        """Append the listed chunks (in name order) after the joined ones.

        `ahead` (in the background): only chunks named by the offset they continue,
        so that one arriving out of order is not joined before its predecessor.
        """
        if self.closed:
            return
        if listing[: len(self.pieces)] != self.pieces:
            self._reset()  # a joined chunk was replaced
        for name, _, _, _ in listing[len(self.pieces) :]:
            if ahead and not (name.isdigit() and int(name) == self.size):
                return
            try:
                self._append(self.path.parent / "chunks" / name, lanes)
            except BaseException:
                self._reset()  # the hash may hold part of the chunk
                raise

    def _append(self, chunk: Path, lanes: tuple[Executor, Executor]) -> None:
        with open(chunk, "rb", buffering=0) as src:
            st = os.fstat(src.fileno())
            if not self.size:  # a join starts with a new file: an old one may be a committed revision now
                self.path.unlink(missing_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.ftruncate(fd, self.size)  # whatever a failed append left after the joined bytes
                os.lseek(fd, self.size, os.SEEK_SET)
                size = feed(src, self.hasher, lanes, partial(write_all, fd))
                os.fdatasync(fd)
            finally:
                os.close(fd)
        self.pieces.append((chunk.name, size, st.st_ino, st.st_mtime_ns))
        self.size += size


class Joins:
    """The joins of every session in this process: run ahead as chunks are stored, completed at finish."""

    def __init__(
        self, pieces: Callable[[str], list[Piece]], folder: Callable[[str], Path], lanes: tuple[Executor, Executor]
    ) -> None:
        self._pieces, self._folder, self._lanes = pieces, folder, lanes
        self._joins: dict[str, Join] = {}
        self._background: set[asyncio.Task[None]] = set()

    def _join(self, session_id: str) -> Join:
        join = self._joins.get(session_id)
        if join is None or join.closed:
            join = self._joins[session_id] = Join(self._folder(session_id) / "assembled")
        return join

    def ahead(self, session_id: str) -> None:
        """Start joining, in the background, the stored chunks that continue the joined bytes."""
        task = asyncio.create_task(self._ahead(session_id, self._join(session_id)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _ahead(self, session_id: str, join: Join) -> None:
        async with join.lock:
            try:
                await self._extend(session_id, join, True)
            # Finishing joins them again. (RuntimeError: the lanes were shut down at close.)
            except (OSError, RuntimeError, errors.StorageError) as exc:
                log.debug("joining chunks ahead failed", session=session_id, error=str(exc))

    async def _extend(self, session_id: str, join: Join, ahead: bool) -> list[Piece]:
        listing = await asyncio.to_thread(self._pieces, session_id)
        await asyncio.to_thread(join.extend, listing, self._lanes, ahead)
        return listing

    async def settled(self) -> None:
        """Once the joins running ahead are done."""
        await asyncio.gather(*self._background)

    async def complete(self, session_id: str) -> tuple[Path, int, dict[str, str]]:
        """All chunks joined in name order: the file (from now on finishing's alone), its size and digests."""
        join = self._join(session_id)
        async with join.lock:
            if await self._extend(session_id, join, False) != join.pieces:
                raise errors.precondition("chunks-changed", "chunks changed while the upload was finishing")
            join.closed = True
            return join.path, join.size, join.hasher.digests()

    async def drop(self, session_id: str) -> None:
        """Forget a session's join, once a running one is done (its files are about to go)."""
        if (join := self._joins.pop(session_id, None)) is not None:
            join.closed = True
            async with join.lock:
                pass


def feed(src: BinaryIO, hasher: Hasher, lanes: tuple[Executor, Executor], sink: Callable[[bytes], object]) -> int:
    """Hash `src` (MD5 on one lane, SHA1 + Adler-32 on the other) while `sink` takes each block; returns its size."""
    size = 0
    pending: list[Future[None]] = []
    try:
        while block := src.read(BLOCK):
            for job in pending:  # each lane takes the blocks in order
                job.result()
            pending = [lanes[0].submit(hasher.update_md5, block), lanes[1].submit(hasher.update_sha1_adler, block)]
            sink(block)
            size += len(block)
        for job in pending:
            job.result()
    finally:
        wait(pending)  # no lane may touch the hash once this returns
    return size


def digest(path: Path, lanes: tuple[Executor, Executor]) -> tuple[int, dict[str, str]]:
    """Size and SHA1/MD5/Adler-32 of a file."""
    hasher = Hasher()
    with open(path, "rb", buffering=0) as src:
        size = feed(src, hasher, lanes, lambda _: None)
    return size, hasher.digests()
