"""Request bodies as batches of the pieces aiohttp buffered, never joined (no copy)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from ocisd.httpd import body_pieces

from . import errors

BATCH = 2 << 20  # bytes handed on at once: few thread hand-offs, little memory per upload


async def batches(content: aiohttp.StreamReader, limit: int = -1, size: int = BATCH) -> AsyncIterator[list[bytes]]:
    """Lists of pieces of about `size` bytes; more than `limit` bytes (if >= 0) stops at once."""
    pieces: list[bytes] = []
    pending = received = 0
    async for piece in body_pieces(content):
        received += len(piece)
        if 0 <= limit < received:
            raise errors.invalid("size-mismatch", f"announced {limit} bytes, body is longer")
        pieces.append(piece)
        pending += len(piece)
        if pending >= size:
            yield pieces
            pieces, pending = [], 0
    if pieces:
        yield pieces
