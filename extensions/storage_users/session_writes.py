"""Streaming a request body into a session's files: appends with durable checkpoints, whole chunks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from . import errors
from .checksums import Hasher

CHECKPOINT = 16 << 20  # bytes between durable offsets within one append
WRITE = 1 << 20  # bytes per write call


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass
class Progress:
    """How far a session's appends got in this process: bytes written and, if known, their running hash."""

    pos: int
    hasher: Hasher | None


async def append(
    fd: int,
    body: AsyncIterator[bytes],
    progress: Progress,
    left: int | None,
    record: Callable[[int], Awaitable[None]],
    lanes: tuple[Executor, Executor],
) -> None:
    """Write `body` to `fd` (positioned at `progress.pos`), at most `left` bytes (None = any).

    `record(offset)` is awaited after an fsync every `CHECKPOINT` bytes and at
    the end, also when the body breaks off: what arrived is a valid prefix.
    Each block is written and hashed at once (MD5 and SHA1 + Adler-32 on
    `lanes`); `progress` always describes the bytes written, even after a failure.
    """
    buf = bytearray()
    durable = start = progress.pos
    failed = False

    async def flush() -> None:
        nonlocal failed
        data, hasher = bytes(buf), progress.hasher
        saved = hasher.copy() if hasher is not None else None
        jobs: list[Awaitable[None]] = [asyncio.to_thread(write_all, fd, data)]
        if hasher is not None:
            loop = asyncio.get_running_loop()
            jobs += [
                loop.run_in_executor(lanes[0], hasher.update_md5, data),
                loop.run_in_executor(lanes[1], hasher.update_sha1_adler, data),
            ]
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        if problems := [o for o in outcomes if isinstance(o, BaseException)]:
            # Bytes past `pos` may be on disk now; the next append cuts them off.
            failed = True
            progress.hasher = saved
            raise problems[0]
        progress.pos += len(data)
        buf.clear()

    async def checkpoint() -> None:
        nonlocal durable
        await asyncio.to_thread(os.fsync, fd)
        await record(progress.pos)
        durable = progress.pos

    try:
        async for data in body:
            if left is not None and progress.pos + len(buf) + len(data) - start > left:
                raise errors.invalid("size-mismatch", f"more than the {left} bytes left")
            buf += data
            if len(buf) >= WRITE:
                await flush()
                if progress.pos - durable >= CHECKPOINT:
                    await checkpoint()
    finally:
        if not failed:
            if buf:
                await flush()
            if progress.pos != durable:
                await checkpoint()


async def write_chunk(fd: int, tmp: Path, body: AsyncIterator[bytes]) -> None:
    """Write a whole chunk to its temp file and fsync it; the temp file goes on any failure."""
    try:
        async for data in _blocks(body):
            await asyncio.to_thread(write_all, fd, data)
        await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)


async def _blocks(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Re-chunk a request body into writes of about `WRITE` bytes."""
    buf = bytearray()
    async for data in body:
        buf += data
        if len(buf) >= WRITE:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)
