"""Streaming a request body into a session's files: appends with durable checkpoints, whole chunks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from ocisd.api.storage.v1 import errors
from ocisd.storage.checksums import Hasher
from ocisd.storage.writeback import Writer

CHECKPOINT = 16 << 20  # bytes between durable offsets within one append
WRITE = 1 << 20  # bytes per write: what arrived reaches the file soon, even from a slow client


@dataclass
class Progress:
    """How far a session's appends got in this process: bytes written and, if known, their running hash."""

    pos: int
    hasher: Hasher | None


async def append(
    fd: int,
    body: AsyncIterator[list[bytes]],
    progress: Progress,
    left: int | None,
    record: Callable[[int], Awaitable[None]],
    lanes: tuple[Executor, Executor],
    every: int = CHECKPOINT,
) -> None:
    """Write `body` (batches of pieces) to `fd` (positioned at `progress.pos`), at most `left` bytes (None = any).

    `record(offset)` is awaited after an fsync every `every` bytes (0: only at
    the end) and at the end, also when the body breaks off: what arrived is a
    valid prefix.
    Each batch is written and hashed at once (MD5 and SHA1 + Adler-32 on
    `lanes`); `progress` always describes the bytes written, even after a failure.
    """
    durable = start = progress.pos
    writer = Writer(fd, start)
    loop = asyncio.get_running_loop()
    failed = False

    async def flush(pieces: list[bytes]) -> None:
        nonlocal failed
        hasher = progress.hasher
        saved = hasher.copy() if hasher is not None else None
        jobs: list[Awaitable[object]] = [asyncio.to_thread(writer.write, pieces)]
        if hasher is not None:
            jobs += [
                loop.run_in_executor(lanes[0], hasher.md5_pieces, pieces),
                loop.run_in_executor(lanes[1], hasher.sha1_adler_pieces, pieces),
            ]
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        if problems := [o for o in outcomes if isinstance(o, BaseException)]:
            # Bytes past `pos` may be on disk now; the next append cuts them off.
            failed = True
            progress.hasher = saved
            raise problems[0]
        progress.pos += sum(len(p) for p in pieces)

    async def checkpoint() -> None:
        nonlocal durable
        await asyncio.to_thread(os.fsync, fd)
        await record(progress.pos)
        durable = progress.pos

    try:
        async for pieces in body:
            if left is not None and progress.pos + sum(len(p) for p in pieces) - start > left:
                raise errors.invalid("size-mismatch", f"more than the {left} bytes left")
            await flush(pieces)
            if every and progress.pos - durable >= every:
                await checkpoint()
    finally:
        if not failed and progress.pos != durable:
            await checkpoint()


async def write_chunk(fd: int, tmp: Path, body: AsyncIterator[list[bytes]]) -> None:
    """Write a whole chunk to its temp file and fsync it; the temp file goes on any failure.

    One batch is written (in a thread) while the next arrives.
    """
    writing: asyncio.Future[int] | None = None
    writer = Writer(fd)
    try:
        async for pieces in body:
            if writing is not None:
                await writing
            writing = asyncio.ensure_future(asyncio.to_thread(writer.write, pieces))
        if writing is not None:
            await writing
        await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        if writing is not None:  # the descriptor is closed below: no write may still be using it
            await asyncio.gather(writing, return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
