"""The joins of every session in this process: chunks written straight into the joined file
as they arrive in order, the others joined in the background, all completed at finish.

A chunk PUT may go the direct way only when no join work runs for its session:
it claims the join under the join's lock, streams its body into `assembled`
after the joined bytes without the lock (hashing it on the lanes), then
records it under the lock. While a direct write runs, the background join
leaves the file alone (the write starts it afterwards if stored chunks wait)
and finishing waits for it;
removing the session does not (a stalled client must not hold it up), the
write then finds its join closed and answers as if the session were gone.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

from ocisd.api.storage.v1 import errors
from ocisd.logs import get_logger

from . import writes
from .assembly import Join, Lanes
from .journal import JOURNAL, Journal, Piece
from .writes import Progress

log = get_logger("storage.sessions")


# Called under the join's lock whenever it grew (`multipart` sends its whole parts away).
Grown = Callable[[str, Join], Awaitable[None]]


class Joins:
    def __init__(
        self,
        pieces: Callable[[str], list[Piece]],
        folder: Callable[[str], Path],
        lanes: Lanes,
        grown: Grown,
        stepwise: bool = False,
    ) -> None:
        self._pieces, self._folder, self._lanes, self._grown = pieces, folder, lanes, grown
        # Completing joins one chunk at a time, `grown` after each (the joined file stays small when
        # `grown` sends its parts away); else all at once.
        self._step = 1 if stepwise else -1
        self._joins: dict[str, Join] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def check_sent(self, session_id: str, name: str, sent: int) -> None:
        """The session's first `sent` bytes went to a multipart upload: no join may cut below them, and a
        joined chunk with bytes among them cannot be replaced (PRECONDITION `chunk-sent`)."""
        self._join(session_id).sent = sent
        start = 0
        for piece in await asyncio.to_thread(Journal(self._folder(session_id) / JOURNAL).read):
            if start >= sent:
                return
            if piece[0] == name:
                raise errors.precondition("chunk-sent", f"chunk {name} was sent to the blob store already")
            start += piece[1]

    def _join(self, session_id: str) -> Join:
        # A closed join stays until dropped or reopened: nothing may write the file while it is committed.
        join = self._joins.get(session_id)
        if join is None:
            join = self._joins[session_id] = Join(self._folder(session_id))
        return join

    def reopen(self, session_id: str) -> None:
        """After a finish failed: its join (closed if finishing took the file) loads afresh next time."""
        join = self._joins.get(session_id)
        if join is not None and join.closed:
            del self._joins[session_id]

    async def direct(self, session_id: str, name: str, body: AsyncIterator[list[bytes]]) -> bool:
        """Write a chunk straight into the joined file if it continues the joined bytes and
        nothing else runs for the join (the body is untouched otherwise); True if it did."""
        join = self._join(session_id)
        if join.lock.locked() or join.writing or not name.isdigit():
            return False
        async with join.lock:
            fd = await asyncio.to_thread(self._claim, session_id, join, name)
            if fd is None:
                return False
            join.writing = True
            join.idle.clear()
        start, saved = join.size, join.hasher.copy() if join.hasher is not None else None
        progress = Progress(start, join.hasher)
        try:
            try:  # fsyncs the bytes once before it returns: nothing is recorded before the journal line
                await writes.append(fd, body, progress, None, _nothing, self._lanes, every=0)
            except BaseException:
                join.hasher = saved  # the bytes after the joined ones are cut off by the next write
                raise
            finally:
                os.close(fd)
            async with join.lock:
                if join.closed:
                    raise errors.not_found("no such upload session")
                piece = (name, progress.pos - start, 0, time.time_ns())
                try:
                    waiting = await asyncio.to_thread(self._record, session_id, join, piece)
                except BaseException:
                    join.loaded = False  # recorded or not: the journal knows
                    raise
                await self._grown(session_id, join)
        finally:
            join.writing = False
            join.idle.set()
        if waiting:  # chunks that arrived early may continue now
            self.ahead(session_id)
        return True

    def _record(self, session_id: str, join: Join, piece: Piece) -> bool:
        """Journal a directly joined chunk; True if stored chunks wait to be joined (the background
        join would otherwise only hold the lock for nothing, sending the next chunk the slow way)."""
        join.record(piece)
        return len(self._pieces(session_id)) > len(join.pieces)

    def _claim(self, session_id: str, join: Join, name: str) -> int | None:
        """The file opened after the joined bytes, if chunk `name` goes there next (else None)."""
        if join.closed:
            return None
        join.load(self._lanes)
        listing = self._pieces(session_id)
        if int(name) != join.size or listing[: len(join.pieces)] != join.pieces:
            return None  # not next, or a joined chunk was replaced: the join must cut back first
        if any(p[0] == name for p in listing) or any(p[0] < name for p in listing[len(join.pieces) :]):
            return None  # a re-sent chunk, or a stored one goes first
        return join.open()

    def ahead(self, session_id: str) -> None:
        """Start joining, in the background, the stored chunks that continue the joined bytes."""
        task = asyncio.create_task(self._ahead(session_id, self._join(session_id)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _ahead(self, session_id: str, join: Join) -> None:
        async with join.lock:
            if join.writing:  # it runs ahead itself once done
                return
            try:
                await self._extend(session_id, join, True)
                await self._grown(session_id, join)
            # Finishing joins them again. (RuntimeError: the lanes were shut down at close.)
            except (OSError, RuntimeError, errors.StorageError) as exc:
                log.debug("joining chunks ahead failed", session=session_id, error=str(exc))

    async def _extend(self, session_id: str, join: Join, ahead: bool, most: int = -1) -> list[Piece]:
        return await asyncio.to_thread(join.extend, partial(self._pieces, session_id), self._lanes, ahead, most)

    async def settled(self) -> None:
        """Once the joins running ahead are done."""
        await asyncio.gather(*self._background)

    async def complete(self, session_id: str) -> tuple[Path, int, dict[str, str] | None]:
        """All chunks joined in name order: the file (from now on finishing's alone), its size and digests
        (None if parts of it were sent away before this process hashed them)."""
        join = self._join(session_id)
        while True:  # the lock, with no direct write running
            await join.idle.wait()
            await join.lock.acquire()
            if not join.writing:
                break
            join.lock.release()
        try:
            while True:
                joined = len(join.pieces)
                listing = await self._extend(session_id, join, False, self._step)
                if len(join.pieces) == joined or self._step < 0:
                    break
                await self._grown(session_id, join)
            if listing != join.pieces:
                raise errors.precondition("chunks-changed", "chunks changed while the upload was finishing")
            join.closed = True
            return join.path, join.size, join.hasher.digests() if join.hasher is not None else None
        finally:
            join.lock.release()

    async def drop(self, session_id: str) -> None:
        """Forget a session's join, once a running join (not a direct write) is done: its files are about to go."""
        if (join := self._joins.pop(session_id, None)) is not None:
            join.closed = True
            async with join.lock:
                pass


async def _nothing(offset: int) -> None:
    pass
