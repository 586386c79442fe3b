"""`local` blobs: one immutable file per node revision in the data dir, written via a temp file.

An upload streams into `tmp/`, is fsynced, renamed into place and the directory
fsynced before the metadata commit; a crash leaves at most a temp file (removed
on start) or an unreferenced blob (listed in `blob_gc` before the rename, so
start-up removes it).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocisd.sql import bridge
from ocisd.storage.checksums import Hasher
from ocisd.storage.resources import Staged
from ocisd.storage.writeback import Writer, fsync_dir

from . import BlobStore


class Sink:
    """One upload in progress: a temp file and the running checksums.

    Each chunk is written and hashed on three single-thread lanes at once (file
    write, MD5, SHA1 + Adler-32; all release the GIL), one chunk in flight while
    the next arrives, so upload speed is bounded by the slowest lane, not their sum.
    """

    def __init__(self, tmp_dir: Path, lanes: tuple[ThreadPoolExecutor, ...]) -> None:
        self.rev = secrets.token_hex(8)
        self._tmp = tmp_dir / f"{self.rev}.part"
        self.path: Path | None = self._tmp
        self._fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._hasher = Hasher()
        self._writer = Writer(self._fd)
        self._lanes = lanes
        self._inflight: list[asyncio.Future[object]] = []
        self.size = 0

    async def write(self, data: bytes | Sequence[bytes]) -> None:
        await self._settle()
        pieces = [data] if isinstance(data, bytes) else list(data)  # the caller may reuse its list
        loop = asyncio.get_running_loop()
        jobs: tuple[Callable[[Sequence[bytes]], object], ...] = (
            self._writer.write,
            self._hasher.md5_pieces,
            self._hasher.sha1_adler_pieces,
        )
        self._inflight = [loop.run_in_executor(lane, job, pieces) for lane, job in zip(self._lanes, jobs)]
        self.size += sum(len(p) for p in pieces)

    async def _settle(self) -> None:
        inflight, self._inflight = self._inflight, []
        await asyncio.gather(*inflight)

    def _close(self, sync: bool) -> None:
        if self._fd >= 0:
            if sync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    async def finish(self) -> Staged:
        await self._settle()
        await asyncio.to_thread(self._close, True)
        d = self._hasher.digests()
        return Staged(rev=self.rev, size=self.size, sha1=d["SHA1"], md5=d["MD5"], adler32=d["ADLER32"])

    async def abort(self) -> None:
        inflight, self._inflight = self._inflight, []
        await asyncio.gather(*inflight, return_exceptions=True)
        self._close(False)
        self._tmp.unlink(missing_ok=True)


class LocalBlobs(BlobStore):
    local_files = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lanes = tuple(ThreadPoolExecutor(1, thread_name_prefix=f"upload-lane{i}") for i in range(3))

    def path(self, name: str) -> Path:
        # One level of 4096 folders: few enough that creating them (and fsyncing
        # the root) soon stops, enough to keep millions of blobs in small folders.
        return self.root / name[:3] / name

    async def sink(self) -> Sink:
        return await asyncio.to_thread(Sink, self.tmp, self._lanes)

    async def open(self) -> int:
        return await asyncio.to_thread(self._clean_tmp)

    async def close(self) -> None:
        for lane in self._lanes:
            await asyncio.to_thread(lane.shutdown, True)

    def _clean_tmp(self) -> int:
        """Remove temp files of uploads interrupted by a crash; returns how many."""
        count = 0
        for entry in os.scandir(self.tmp):
            os.unlink(entry.path)
            count += 1
        return count

    def place(self, source: Path | None, name: str) -> None:
        """Rename a finished temp file to its blob name, durably."""
        assert source is not None, "local sinks stage a file"
        target = self.path(name)
        self._ensure_dir(target.parent)
        os.rename(source, target)
        bridge.offload(fsync_dir, target.parent)

    def link(self, source: str, name: str) -> None:
        """A copy shares the immutable bytes of its source revision."""
        target = self.path(name)
        self._ensure_dir(target.parent)
        os.link(self.path(source), target)

    def sync_dirs(self, names: list[str]) -> None:
        for parent in {self.path(n).parent for n in names}:
            bridge.offload(fsync_dir, parent)

    def remove(self, names: list[str]) -> None:
        for name in names:
            self.path(name).unlink(missing_ok=True)

    def content(self, name: str, size: int) -> Path:
        return self.path(name)

    def _ensure_dir(self, d: Path) -> None:
        if not d.is_dir():
            d.mkdir(exist_ok=True, mode=0o700)
            fsync_dir(d.parent)
