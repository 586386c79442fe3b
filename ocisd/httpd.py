"""Start an aiohttp application on a configured `host:port`: one way for every server in ocisd.

And read request bodies, and send spans of open files, the way every path should.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from ocisd import addresses

TLS_READ = 1 << 20  # bytes of a file read per worker-thread call when a span must pass through TLS


async def start_app(app: web.Application, addr: str, key: str) -> web.AppRunner:
    """Bind and serve `app`; on failure nothing is left open. `key` names the setting in errors."""
    host, port = addresses.split(addr, key)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        # SO_REUSEADDR lets a process restarted after a crash bind past TIME_WAIT connections;
        # on Linux it still refuses an address another process listens on (no SO_REUSEPORT).
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


async def body_pieces(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """A body as aiohttp buffered it, piece by piece.

    `readchunk` hands out one buffered piece at a time, where `iter_any` and
    `read` (and aiohttp's client, given the StreamReader itself) join what is
    buffered into new bytes: one extra copy of every uploaded byte.
    """
    while True:
        piece, _ = await content.readchunk()
        if piece:
            yield piece
        elif content.at_eof():
            return


async def send_file_span(
    request: web.BaseRequest, response: web.StreamResponse, fd: int, offset: int, count: int
) -> int:
    """Send `count` bytes of `fd` from `offset` after `response`'s head; the bytes sent (fewer: the file is shorter).

    sendfile on plain TCP. Under TLS the bytes pass through user space anyway,
    and asyncio's own fallback would read them 16 KiB at a time.
    """
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("the client went away")
    if transport.get_extra_info("sslcontext") is None:
        with os.fdopen(fd, "rb", closefd=False) as file:  # wraps the descriptor, no I/O
            return await asyncio.get_running_loop().sendfile(transport, file, offset, count)
    sent = 0
    while sent < count:
        chunk = await asyncio.to_thread(os.pread, fd, min(TLS_READ, count - sent), offset + sent)
        if not chunk:
            break
        await response.write(chunk)
        sent += len(chunk)
    return sent
