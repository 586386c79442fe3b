"""Zero-copy relay of a large response body: upstream socket → pipe → client socket, in the kernel.

Relayed through Python, every byte of a 64 MiB GET is copied into user space
and out again, with an event-loop round per read buffer: about a third of what
the upstream serves with sendfile. splice(2) moves the pages between the two
sockets through a pipe without them reaching user space. It applies only when
both hops are plain TCP (TLS needs the bytes in user space) and the body has a
known, large length. The waits use duplicated descriptors, so the transports
that own the sockets keep their own registrations in the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket

MIN_SIZE = 1 << 20  # below this the pipe and descriptor set-up costs more than the copies
PIPE_SIZE = 1 << 20  # the default maximum an unprivileged process may ask for
YIELD_EVERY = 8 << 20  # bytes moved between turns of the event loop, so other requests keep flowing
FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK if hasattr(os, "splice") else 0


class SourceFailed(Exception):
    """The source ended or broke before `count` bytes came (the target's errors stay OSErrors)."""


def plain_socket(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    """The transport's TCP socket when it carries no TLS, else None."""
    if transport is None or transport.is_closing() or transport.get_extra_info("sslcontext") is not None:
        return None
    sock = transport.get_extra_info("socket")
    return sock if FLAGS and sock is not None and sock.type == socket.SOCK_STREAM else None


def _pipe() -> tuple[int, int, int]:
    """(read end, write end, capacity) of a non-blocking pipe, as large as we may make it."""
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:  # a lower /proc/sys/fs/pipe-max-size: keep the default
        pass
    return r, w, fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)


async def _ready(reads: int | None, writes: int | None, timeout: float | None) -> None:
    """Wait until `reads` is readable or `writes` writable (whichever is given first)."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    if reads is not None:
        loop.add_reader(reads, wake)
    if writes is not None:
        loop.add_writer(writes, wake)
    try:
        async with asyncio.timeout(timeout):
            await woken
    finally:
        if reads is not None:
            loop.remove_reader(reads)
        if writes is not None:
            loop.remove_writer(writes)


async def relay(source: socket.socket, target: socket.socket, count: int, timeout: float) -> int:
    """Move exactly `count` bytes from `source` to `target`; the bytes delivered to `target`.

    SourceFailed when the source ends early, breaks or sends nothing for
    `timeout` seconds; OSError (EPIPE, ECONNRESET) when the target went away.
    """
    src, dst = os.dup(source.fileno()), os.dup(target.fileno())
    r, w, capacity = _pipe()
    left, in_pipe, sent, since_yield = count, 0, 0, 0
    try:
        while left or in_pipe:
            moved = False
            if left and in_pipe < capacity:
                try:
                    n = os.splice(src, w, min(left, capacity - in_pipe), flags=FLAGS)
                except BlockingIOError:
                    pass
                except OSError as exc:
                    raise SourceFailed(f"source broke {left} bytes before the end: {exc}") from exc
                else:
                    if n == 0:
                        raise SourceFailed(f"source ended {left} bytes before the end")
                    left, in_pipe, moved = left - n, in_pipe + n, True
            if in_pipe:
                more = os.SPLICE_F_MORE if left else 0
                try:
                    n = os.splice(r, dst, in_pipe, flags=FLAGS | more)
                except BlockingIOError:
                    pass
                else:
                    in_pipe, sent, since_yield, moved = in_pipe - n, sent + n, since_yield + n, True
            if not moved:
                reads = src if left and in_pipe < capacity else None
                try:  # a client that reads slowly is waited for, as aiohttp's writer waits for it
                    await _ready(reads, dst if in_pipe else None, timeout if reads is not None else None)
                except TimeoutError:
                    raise SourceFailed(f"source sent nothing for {timeout:g} s") from None
            elif since_yield >= YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)
        return sent
    finally:
        for fd in (src, dst, r, w):
            os.close(fd)
