"""The data server for large thumbnails: GET /data/{token} answers what that token signed, nothing else."""

from __future__ import annotations

from aiohttp import web

from .cache import DATA_PATH, Handouts


def make_app(handouts: Handouts) -> web.Application:
    async def get(request: web.Request) -> web.Response:
        item = handouts.get(request.match_info["token"])
        if item is None:
            return web.json_response({"error": "unknown or expired thumbnail URL"}, status=404)
        return web.Response(body=item.data, content_type=item.mime, headers={"Cache-Control": "private, max-age=60"})

    app = web.Application(client_max_size=1024)
    app.router.add_get(DATA_PATH + "{token}", get)
    return app
