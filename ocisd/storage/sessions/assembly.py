"""Named chunks joined into one file and hashed while the upload is still arriving.

Chunking NG names each chunk by its offset and desktop clients send them in
order. A chunk that continues the joined bytes when it arrives is written
straight into the session's `assembled` file (see `joins`); any other
is stored as its own file and appended (fdatasynced) once it continues them,
in the background. Either way the running hashes see the bytes once, and
`journal` records each joined chunk after its bytes are durable: the
journal, not memory, is the join's state. A process loads it once per session
(cutting `assembled` back to the recorded length and rehashing those bytes
from disk, since a hash state cannot be stored). A replaced joined chunk cuts
the join back to before it; directly joined chunks after it are first copied
out to chunk files, as their bytes live only in `assembled`. A join from the
first chunk starts a new file, and a file shared with a committed revision
(a finish that crashed after its commit) is copied before it is written: the
file is private to the session; it becomes visible only through the driver's
commit, which may rename a hard link of it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from pathlib import Path
from typing import BinaryIO

from ocisd.api.storage.v1 import errors
from ocisd.storage.checksums import Hasher
from ocisd.storage.writeback import fsync_dir, write_pieces

from .journal import JOURNAL, PART, Journal, Piece
from .multipart import punched

BLOCK = 4 << 20
Lanes = tuple[Executor, Executor]


class Join:
    """How far one session's chunks are joined: which chunks, in order, and their running hash."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "assembled"
        self.chunks = folder / "chunks"
        self.journal = Journal(folder / JOURNAL)
        self.lock = asyncio.Lock()  # one join at a time; held while the session's files go away
        self.closed = False  # once finishing took the file: never written again
        self.writing = False  # a chunk is being written straight into the file (past `size`)
        self.idle = asyncio.Event()  # set while not `writing`
        self.idle.set()
        self.loaded = False  # the state below was read from the journal (and is trusted)
        self.pieces: list[Piece] = []
        self.size = 0
        self.hasher: Hasher | None = Hasher()  # None: bytes were sent away before this process hashed them
        self.sent = 0  # bytes already parts of a multipart upload (`multipart`): a join never cuts below

    def load(self, lanes: Lanes) -> None:
        """The journal's state, once per process (and again after a failure left memory unsure)."""
        if self.loaded:
            return
        pieces, have, end = self.journal.read(), _size(self.path), 0
        keep: list[Piece] = []
        for piece in pieces:
            if end + piece[1] > have:  # cannot happen unless the disk lost data: join the rest again
                break
            keep.append(piece)
            end += piece[1]
        self.journal.cut(keep)  # drops a torn last line too
        self.pieces, self.size, self.hasher = keep, end, Hasher()
        if have != end:
            os.close(self.open())  # bytes of a chunk never recorded
        if end and punched(self.path):
            self.hasher = None  # finishing hashes the completed object instead
        elif end:
            with open(self.path, "rb", buffering=0) as src:
                feed(src, self.hasher, lanes, lambda _: None)
        self.loaded = True

    def extend(self, pieces: Callable[[], list[Piece]], lanes: Lanes, ahead: bool, most: int = -1) -> list[Piece]:
        """Append the listed chunks (in name order, at most `most` if >= 0) after the joined ones;
        returns the listing.

        `ahead` (in the background): only chunks named by the offset they continue,
        so that one arriving out of order is not joined before its predecessor.
        """
        if self.closed:
            return pieces()
        try:
            self.load(lanes)
            listing = pieces()
            kept = next((i for i, (a, b) in enumerate(zip(self.pieces, listing)) if a != b), len(self.pieces))
            if kept < len(self.pieces):  # a joined chunk was replaced (or removed)
                if sum(p[1] for p in self.pieces[:kept]) < self.sent:
                    raise errors.precondition("chunk-sent", f"chunk {self.pieces[kept][0]} was stored already")
                self._cut(kept, set(listing), lanes)
                listing = pieces()
            for name, _, _, _ in listing[len(self.pieces) :][: most if most >= 0 else None]:
                if ahead and not (name.isdigit() and int(name) == self.size):
                    break
                self._append(self.chunks / name, lanes)
            return listing
        except BaseException:
            self.loaded = False  # the hash may hold part of a chunk: reload from the journal
            raise

    def _cut(self, kept: int, listed: set[Piece], lanes: Lanes) -> None:
        """Keep the first `kept` joined chunks; later direct ones still listed become chunk files first."""
        end = sum(p[1] for p in self.pieces[:kept])
        pos = end
        for piece in self.pieces[kept:]:
            if piece[2] == 0 and piece in listed:
                self._spill(pos, piece)
            pos += piece[1]
        self.journal.cut(self.pieces[:kept])
        self.pieces, self.size = self.pieces[:kept], end
        self.loaded = False
        self.load(lanes)

    def _spill(self, offset: int, piece: Piece) -> None:
        tmp = self.chunks / f".{secrets.token_hex(8)}{PART}"
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            left = piece[1]
            while left:
                if not (n := os.copy_file_range(src.fileno(), dst.fileno(), left, offset + piece[1] - left)):
                    raise OSError(f"{self.path} ends before the chunk {piece[0]} recorded in it")
                left -= n
            os.fsync(dst.fileno())
        os.rename(tmp, self.chunks / piece[0])
        fsync_dir(self.chunks)

    def open(self) -> int:
        """The file, opened for writing after the joined bytes (dropping any after them)."""
        if not self.size:  # a join starts with a new file: an old one may be a committed revision now
            self.path.unlink(missing_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            fsync_dir(self.path.parent)  # the journal will describe this file
            return fd
        if os.stat(self.path).st_nlink > 1:  # shared with a committed revision: write a copy
            tmp = self.chunks / f".{secrets.token_hex(8)}{PART}"
            shutil.copyfile(self.path, tmp)
            with open(tmp, "rb+") as copy:
                os.fsync(copy.fileno())
            os.rename(tmp, self.path)
            fsync_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY)
        os.ftruncate(fd, self.size)
        os.lseek(fd, self.size, os.SEEK_SET)
        return fd

    def _append(self, chunk: Path, lanes: Lanes) -> None:
        with open(chunk, "rb", buffering=0) as src:
            st = os.fstat(src.fileno())
            fd = self.open()
            try:
                size = feed(src, self.hasher, lanes, lambda block: write_pieces(fd, (block,)))
                os.fdatasync(fd)
            finally:
                os.close(fd)
        self.record((chunk.name, size, st.st_ino, st.st_mtime_ns))

    def record(self, piece: Piece) -> None:
        """`piece` is durable in the file after the joined bytes (and in the hash): journal it."""
        self.journal.append(piece)
        self.pieces.append(piece)
        self.size += piece[1]


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def feed(src: BinaryIO, hasher: Hasher | None, lanes: Lanes, sink: Callable[[bytes], object]) -> int:
    """Hash `src` (MD5 on one lane, SHA1 + Adler-32 on the other; not without a `hasher`) while `sink`
    takes each block; returns its size."""
    size = 0
    pending: list[Future[None]] = []
    try:
        while block := src.read(BLOCK):
            for job in pending:  # each lane takes the blocks in order
                job.result()
            pieces = (block,)
            if hasher is not None:
                pending = [
                    lanes[0].submit(hasher.md5_pieces, pieces),
                    lanes[1].submit(hasher.sha1_adler_pieces, pieces),
                ]
            sink(block)
            size += len(block)
        for job in pending:
            job.result()
    finally:
        wait(pending)  # no lane may touch the hash once this returns
    return size


def digest(path: Path, lanes: Lanes) -> tuple[int, dict[str, str]]:
    """Size and SHA1/MD5/Adler-32 of a file."""
    hasher = Hasher()
    with open(path, "rb", buffering=0) as src:
        size = feed(src, hasher, lanes, lambda _: None)
    return size, hasher.digests()
