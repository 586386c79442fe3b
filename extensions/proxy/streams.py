"""Answers without an end of their own (Server-Sent Events): relayed as they come, ended cleanly at the proxy's stop.

An event stream lasts while its client listens. The relay passes each piece on
as it arrives (aiohttp writes it at once) and the upstream read timeout only
counts silence, which the upstream's keepalive comments break. But the proxy's
stop would wait for such a stream (half the shutdown grace) and then cut it:
instead every stream is ended at the start of the stop with the body's last
chunk, so clients see a clean end and reconnect at once. The upstream
connection of an event stream is never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from multidict import CIMultiDictProxy

from ocisd.httpd import body_pieces

EVENT_STREAM = "text/event-stream"


def endless(headers: CIMultiDictProxy[str]) -> bool:
    """Whether an upstream's answer is an event stream."""
    return headers.get("Content-Type", "").split(";")[0].strip().lower() == EVENT_STREAM


class EventStreams:
    def __init__(self) -> None:
        self._stopping = asyncio.Event()

    def end_all(self) -> None:
        """End every stream relayed now or later (the proxy stops)."""
        self._stopping.set()

    async def pieces(self, payload: aiohttp.StreamReader) -> AsyncIterator[bytes]:
        """`payload`'s pieces until it ends or the proxy stops."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        source = body_pieces(payload)
        try:
            while True:
                piece = asyncio.ensure_future(anext(source))
                await asyncio.wait((piece, stopping), return_when=asyncio.FIRST_COMPLETED)
                if not piece.done():
                    piece.cancel()
                    return
                try:
                    yield piece.result()
                except StopAsyncIteration:
                    return
        finally:
            stopping.cancel()
