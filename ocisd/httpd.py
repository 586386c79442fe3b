"""Start an aiohttp application on a configured `host:port`: one way for every server in ocisd.

And read request bodies the way every upload path should.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from ocisd import addresses


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
