"""OPTIONS: what this WebDAV server supports (class 1 and 2: locking; TUS uploads by POST)."""

from __future__ import annotations

from aiohttp import web

from . import tus
from .request import Dav

ALLOW = "OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, PROPPATCH, COPY, MOVE, MKCOL, LOCK, UNLOCK, POST, REPORT"


async def handle(dav: Dav) -> web.StreamResponse:
    return web.Response(
        status=200,
        headers={
            "DAV": "1, 2",
            "Allow": ALLOW,
            "MS-Author-Via": "DAV",
            "Accept-Ranges": "bytes",
            **tus.headers(dav.config.tus_max_size),
        },
    )
