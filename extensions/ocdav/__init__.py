"""ocdav: WebDAV (RFC 4918) for any client, talking only to the gateway; bytes go to the storage's data URLs."""

from __future__ import annotations

import aiohttp

from ocisd.extension import Context, Extension

from . import landing, meta, public, status, trashbin, uploads
from .config import OcdavConfig
from .gateway import Gateway
from .http import make_app
from .paths import ROUTES
from .request import Services
from .sharing import Sharing
from .transfer import DataServers

READ_BUFFER = 4 << 20  # big reads from the data servers: fewer, larger writes to the client


class Ocdav(Extension):
    name = "ocdav"
    summary = (
        "WebDAV (/remote.php/webdav/, /remote.php/dav/files/<user>/, /remote.php/dav/spaces/<id>/), "
        "chunked and TUS uploads, trash bin, status.php"
    )
    config = OcdavConfig
    depends = ("gateway",)
    routes = ROUTES + uploads.ROUTES + meta.ROUTES + trashbin.ROUTES + status.ROUTES + public.ROUTES + landing.ROUTES

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None

    async def start(self, ctx: Context) -> None:
        # One keep-alive pool to the storages' data servers; no total timeout: big files take long.
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False, read_bufsize=READ_BUFFER
        )
        cfg: OcdavConfig = ctx.config
        data = DataServers(self._http, ctx.local_http, ctx.registry, ctx.metrics)
        services = Services(Gateway(ctx.rpc), self._http, data, cfg, Sharing(ctx.rpc, ctx.shared.url))
        app = make_app(services, ctx.metrics)
        app[landing.KEY] = landing.Landing(ctx.rpc, ctx.shared.jwt_secret, services)
        await ctx.serve_http(app, public=status.ROUTES + landing.ROUTES)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
