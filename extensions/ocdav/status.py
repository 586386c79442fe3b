"""`GET /status.php` (and `/status`): the server status the desktop GUI client asks before logging in."""

from __future__ import annotations

from aiohttp import web

from ocisd.product import status

ROUTES = ("/status.php", "/status")


async def handle(request: web.Request) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, headers={"Allow": "GET, HEAD"})
    return web.json_response(status(), headers={"Cache-Control": "no-store"})
