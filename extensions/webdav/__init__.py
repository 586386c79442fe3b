"""webdav: previews of files (oCIS's webdav service), `?preview=1` on the WebDAV file URLs the proxy sends here."""

from __future__ import annotations

import aiohttp

from ocisd import davpaths
from ocisd.api.sharing.v1.links import LEGACY, PUBLIC_FILES
from ocisd.api.thumbnails.v1.contract import PREVIEW_QUERY
from ocisd.extension import Context, Extension

from .config import WebdavConfig
from .http import make_app
from .thumbnails import Thumbnails


class Webdav(Extension):
    name = "webdav"
    summary = "previews: GET|HEAD ?preview=1 on WebDAV file URLs, rendered by thumbnails"
    config = WebdavConfig
    depends = ("thumbnails",)
    # Query routes: the proxy sends GET and HEAD with `?preview=1` below these prefixes here.
    routes = tuple(f"{prefix}?{PREVIEW_QUERY}" for prefix in (*davpaths.ROUTES, PUBLIC_FILES, LEGACY))

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None

    async def start(self, ctx: Context) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        self._http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        thumbs = Thumbnails(ctx.rpc, ctx.registry, self._http)
        await ctx.serve_http(make_app(thumbs, ctx.config, ctx.metrics))

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
