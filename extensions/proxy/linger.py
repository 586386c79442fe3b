"""Lingering close, as nginx does it, for a connection answered before its request was read.

When the proxy refuses a request whose header it has not finished reading
(431, 400, 408), closing the socket at once with the client's bytes still
unread makes the kernel send a reset, and a client still writing (TLS ones
especially) loses the answer it was about to read. Instead the proxy shuts
its write side where the transport can (plain TCP; TLS has no half-close),
reads and discards what the client still sends, and closes when the client
closes, when it goes quiet for `IDLE` seconds, after `TOTAL` seconds, or after
`MAX_BYTES` discarded bytes, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib

IDLE = 5.0  # nginx's lingering_timeout
TOTAL = 30.0  # nginx's lingering_time
MAX_BYTES = 8 * 1024 * 1024


class Lingering:
    """Owns a transport whose answer is written, until it closes."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._deadline = loop.time() + TOTAL
        self._left = MAX_BYTES
        self._timer: asyncio.TimerHandle | None = None
        with contextlib.suppress(OSError, RuntimeError):
            if transport.can_write_eof():
                transport.write_eof()  # the answer is flushed first, then FIN
            if not transport.is_reading():
                transport.resume_reading()
        self._arm()

    def discard(self, data: bytes) -> None:
        """Bytes the client still sent: dropped, and the quiet period starts again."""
        self._left -= len(data)
        if self._left <= 0:
            self.close()
        else:
            self._arm()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport.close()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        wait = min(IDLE, self._deadline - self._loop.time())
        self._timer = self._loop.call_later(max(wait, 0.0), self.close)
