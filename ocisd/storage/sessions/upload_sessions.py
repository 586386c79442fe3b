"""Resumable upload sessions: bytes kept in storage until `finish` commits them as one upload.

Appends are serialised per session and accepted only at the current offset;
their bytes are fsynced before the new offset is recorded (see
`writes`) and hashed as they arrive. Named chunks arriving in offset
order are written straight into one joined file and hashed as they arrive;
others are stored apart and joined in the background once they continue it
(see `joins`, `assembly`). Finishing hashes only what was not
hashed yet (after a restart: all appended bytes, or the joined file as it
stood) and hands the file to the driver's `commit_file` (the local
driver renames it into place, no copy), whose commit checks length, checksum,
conditions, locks and quota and never shows a partial file. The new revision
is recorded before the commit, so a finish retried after a crash recognises
its own commit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1.contract import ID_SEPARATOR, check_session_name
from ocisd.logs import get_logger
from ocisd.storage.checksums import Hasher
from ocisd.storage.driver import Base
from ocisd.storage.resources import Node, Ref, Staged, UploadOptions

from . import writes
from .assembly import digest
from .files import SessionFiles
from .joins import Joins
from .records import Session, SessionRecords
from .writes import Progress

log = get_logger("storage.sessions")


@dataclass(frozen=True)
class Finish:
    """What FinishUploadSession may add or override (empty = keep the session's)."""

    target: Ref | None = None
    length: int | None = None
    opts: UploadOptions = UploadOptions()


class UploadSessions:
    def __init__(self, driver: Base, data_dir: Path, expiration: float) -> None:
        self.driver = driver
        self.expiration = expiration
        self.files = SessionFiles(data_dir / "uploads")
        self.records = SessionRecords(self.files.root / "sessions.db", driver.sql)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._progress: dict[str, Progress] = {}
        self._lanes = (
            ThreadPoolExecutor(1, thread_name_prefix="md5"),
            ThreadPoolExecutor(1, thread_name_prefix="sha1"),
        )
        self.joins = Joins(self.files.pieces, self.files.folder, self._lanes)

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    async def open(self) -> None:
        """Drop expired sessions and leftovers of interrupted creates, deletes and chunk writes."""
        expired = await self.expire()
        swept = await asyncio.to_thread(self.files.sweep, await self.records.ids())
        if expired or swept:
            log.info("cleaned up upload sessions", expired=expired, leftovers=swept)

    def close(self) -> None:
        self.records.close()
        for lane in self._lanes:
            lane.shutdown(wait=True)

    async def create(self, session: Session) -> Session:
        """Store a new session (its checks already done by the caller)."""
        check_session_name(session.name)
        async with self._lock(session.id):  # a namesake created meanwhile keeps its folder
            live = await self.records.get(session.id)
            if live is not None and live.expires > time.time():
                raise errors.exists(f"upload session {session.name} exists")
            # Folder first: a crash before the record leaves only a folder that `open` sweeps.
            await asyncio.to_thread(self.files.create, session.id)
            await self.records.insert(session, int(time.time()))
        return session

    def new(
        self,
        user: str,
        space: str,
        name: str,
        target: Ref | None,
        length: int,
        opts: UploadOptions,
        meta: dict[str, str],
    ) -> Session:
        now = int(time.time())
        session_id = f"{space}{ID_SEPARATOR}{name or secrets.token_hex(16)}"
        return Session(session_id, user, space, target, length, 0, opts, meta, now, now + int(self.expiration))

    async def get(self, session_id: str, user: str) -> Session:
        """The caller's live session; anyone else's (or none) is NOT_FOUND."""
        s = await self.records.get(session_id)
        if s is None or s.user != user or s.expires <= time.time():
            raise errors.not_found("no such upload session")
        return s

    async def status(self, session_id: str) -> Session:
        """An open session, for the data server (whose signed URL stands for its owner)."""
        s = await self.records.get(session_id)
        if s is None or s.expires <= time.time():
            raise errors.not_found("no such upload session")
        if s.result:
            raise errors.precondition("finished", "the upload session is finished")
        return s

    async def check_quota(self, space: str, incoming: int, held: int = 0) -> None:
        """Refuse `incoming` bytes (beyond `held` ones) that the space's quota could never take."""
        total, used = await self.driver.quota(space)
        if total > 0 and used + held + incoming > total:
            raise errors.quota(f"{max(total - used - held, 0)} of {total} bytes left")

    async def _check_room(self, s: Session, incoming: int | None) -> None:
        # With a known length the quota was checked at creation (and is again at finish).
        if s.length < 0 and incoming is not None:
            held = s.offset + sum(size for _, size, _ in await asyncio.to_thread(self.files.chunks, s.id))
            await self.check_quota(s.space, incoming, held)

    async def append(
        self, session_id: str, offset: int, body: AsyncIterator[list[bytes]], content_length: int | None
    ) -> tuple[Session, int]:
        """Write `body` at `offset` (which must be the current offset); returns the new offset."""
        async with self._lock(session_id):
            s = await self.status(session_id)
            if await asyncio.to_thread(self.files.chunks, session_id):
                raise errors.precondition("session-mode", "this session holds named chunks")
            if offset != s.offset:
                raise errors.precondition("offset-mismatch", f"offset is {s.offset}, not {offset}")
            left = s.length - offset if s.length >= 0 else None
            if left is not None and content_length is not None and content_length > left:
                raise errors.invalid("size-mismatch", f"{content_length} bytes but only {left} left")
            await self._check_room(s, content_length)
            progress = self._progress.get(session_id)
            if progress is None or progress.pos != offset:  # restarted, or a write failed: hash at finish
                progress = self._progress[session_id] = Progress(offset, Hasher() if offset == 0 else None)
            fd = await asyncio.to_thread(self.files.open_at, session_id, offset)
            record = partial(self.records.set_offset, session_id)
            try:
                await writes.append(fd, body, progress, left, record, self._lanes)
            except asyncio.CancelledError:
                self._progress.pop(session_id, None)  # lanes may still be hashing
                raise
            finally:
                os.close(fd)
            return s, progress.pos

    async def put_chunk(
        self, session_id: str, name: str, body: AsyncIterator[list[bytes]], content_length: int | None
    ) -> bool:
        """Store one named chunk whole (replacing a namesake); True if it is new. Chunks may arrive in parallel."""
        check_session_name(name)
        s = await self.status(session_id)
        if s.offset:
            raise errors.precondition("session-mode", "this session holds appended bytes")
        if s.length >= 0 and content_length is not None and content_length > s.length:
            raise errors.invalid("size-mismatch", f"a chunk of {content_length} bytes exceeds {s.length}")
        await self._check_room(s, content_length)
        if await self.joins.direct(session_id, name, body):
            return True  # the next chunk in order: written once, into the joined file
        fd, tmp = await asyncio.to_thread(self.files.open_chunk, session_id)
        await writes.write_chunk(fd, tmp, body)
        try:
            created = await asyncio.to_thread(self.files.place_chunk, tmp, name)
        except FileNotFoundError:
            raise errors.not_found("no such upload session") from None
        self.joins.ahead(session_id)
        return created

    async def chunks(self, session_id: str) -> list[tuple[str, int, int]]:
        return await asyncio.to_thread(self.files.chunks, session_id)

    async def finish(self, session_id: str, user: str, extra: Finish) -> tuple[Node, bool]:
        async with self._lock(session_id):
            s = await self.get(session_id, user)
            if s.result:
                return await self.finished(s)
            target = extra.target or s.target
            if target is None:
                raise errors.invalid("no-target", "the upload session has no target file")
            length = s.length if extra.length is None else extra.length
            opts = _merged(s.opts, extra.opts, length)
            if s.rev and (node := await self._committed(target, s.rev)) is not None:
                return await self._done(s, node, s.creates)
            try:
                node, created = await self._commit(s, target, opts, length)
            except BaseException:
                self.joins.reopen(s.id)
                raise
            return await self._done(s, node, created)

    async def _commit(self, s: Session, target: Ref, opts: UploadOptions, length: int) -> tuple[Node, bool]:
        named = await self.chunks(s.id)
        held = s.offset + sum(size for _, size, _ in named)
        if length >= 0 and held != length:
            raise errors.invalid("size-mismatch", f"announced {length} bytes, the session holds {held}")
        # Every check once before the bytes are joined and hashed; the commit repeats them atomically.
        exists = await self.driver.check_upload(target, opts)
        if named:  # mostly joined and hashed while the chunks arrived
            source, size, digests = await self.joins.complete(s.id)
        else:
            source = await asyncio.to_thread(self.files.data, s.id, s.offset)
            progress = self._progress.get(s.id)
            if progress is not None and progress.hasher is not None and progress.pos == s.offset:
                size, digests = s.offset, progress.hasher.digests()  # hashed while the bytes arrived
            else:  # appended before a restart, or after a failed write
                size, digests = await asyncio.to_thread(digest, source, self._lanes)
        staged = Staged(secrets.token_hex(8), size, digests["SHA1"], digests["MD5"], digests["ADLER32"])
        await self.records.set_rev(s.id, staged.rev, not exists)
        link = await asyncio.to_thread(self.files.stage, source, staged.rev)
        try:
            return await self.driver.commit_file(target, replace(opts, user=s.user), staged, link)
        finally:
            link.unlink(missing_ok=True)  # left only when the commit refused it

    async def _committed(self, target: Ref, rev: str) -> Node | None:
        try:
            node = await self.driver.stat(target)
        except errors.StorageError:
            return None
        return node if node.rev == rev else None

    async def _done(self, s: Session, node: Node, created: bool) -> tuple[Node, bool]:
        # The record keeps the answer for retries until the session expires; the bytes go now.
        await self.records.set_result(s.id, {"node": node.id, "space": node.space, "created": created})
        await self._drop(s.id)
        return node, created

    async def _drop(self, session_id: str) -> None:
        """Forget a session's state in memory and remove its bytes, once a running join is done."""
        self._progress.pop(session_id, None)
        await self.joins.drop(session_id)
        await asyncio.to_thread(self.files.remove, session_id)

    async def finished(self, s: Session) -> tuple[Node, bool]:
        """The committed file of a finished session, and whether the commit created it."""
        # The target may be in another space of this provider (a grantee's upload into a share).
        node = await self.driver.stat(Ref(space=str(s.result.get("space", s.space)), node=str(s.result["node"])))
        return node, bool(s.result["created"])

    async def delete(self, session_id: str, user: str) -> None:
        async with self._lock(session_id):
            await self.get(session_id, user)
            await self._remove(session_id)

    async def _remove(self, session_id: str) -> None:
        # Record first: a crash before the folder is gone leaves a folder `open` sweeps.
        await self.records.delete(session_id)
        await self._drop(session_id)

    async def expire(self) -> int:
        """Delete every expired session with its bytes; returns how many."""
        gone = await self.records.expired(int(time.time()))
        for session_id in gone:
            async with self._lock(session_id):
                await self._remove(session_id)
        return len(gone)

    async def janitor(self) -> None:
        """Runs for the extension's life: expired sessions go within a tenth of the expiration (≤ 60 s)."""
        interval = max(0.5, min(60.0, self.expiration / 10))
        while True:
            await asyncio.sleep(interval)
            if count := await self.expire():
                log.info("expired upload sessions", count=count)


def _merged(base: UploadOptions, extra: UploadOptions, length: int) -> UploadOptions:
    return replace(
        base,
        size=length,
        checksum=extra.checksum or base.checksum,
        mtime=extra.mtime or base.mtime,
        if_match=extra.if_match or base.if_match,
        if_none_match=extra.if_none_match or base.if_none_match,
        lock_tokens=extra.lock_tokens or base.lock_tokens,
    )
