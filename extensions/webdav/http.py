"""The preview endpoint: `GET|HEAD <WebDAV file URL>?preview=1&x=&y=&a=&c=&processor=`.

Answers the thumbnail with a strong ETag (changing with the file and the size
asked), `Cache-Control: private, max-age`, its Content-Type and -Length, and
304 when `If-None-Match` names the current ETag. Errors carry a Sabre XML body
as ocdav's do: 400 bad size, 404 no preview (missing file, another user's,
unsupported type, unreadable or blocked image), 425 + Retry-After while the
file is still processing.
"""

from __future__ import annotations

import re

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from ocisd import identity
from ocisd.api.thumbnails.v1.contract import PREVIEW_QUERY

from .config import WebdavConfig
from .errors import PreviewError
from .request import TRUE, etags, thumbnail_request
from .thumbnails import Thumbnails

PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})  # what thumbnails renders
ETAG = re.compile(r"[!#-~]{1,200}")  # an entity tag's characters, no quote
READ_SIZE = 256 << 10


def make_app(thumbs: Thumbnails, cfg: WebdavConfig, metrics: CollectorRegistry) -> web.Application:
    answered = Counter("webdav_previews", "Preview requests answered, by status.", ["status"], registry=metrics)

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            resp = await _preview(request, thumbs, cfg)
        except PreviewError as exc:
            resp = exc.response()
        answered.labels(str(resp.status)).inc()
        return resp

    app = web.Application(client_max_size=64 << 10)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _preview(request: web.Request, thumbs: Thumbnails, cfg: WebdavConfig) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD"):
        raise PreviewError(405, f"method {request.method} is not supported here", {"Allow": "GET, HEAD"})
    if request.query.get(PREVIEW_QUERY, "").lower() not in TRUE:
        raise PreviewError(400, f"this endpoint answers ?{PREVIEW_QUERY}=1 only")
    who = identity.CURRENT.get()
    if who is None:  # the internal-token guard admits none without one
        raise PreviewError(401, "authentication required")
    if_none_match = request.headers.get("If-None-Match", "")
    reply = await thumbs.get(thumbnail_request(request.raw_path, request.query, who, if_none_match))
    if not ETAG.fullmatch(reply.etag) or reply.mime_type not in PREVIEW_TYPES:
        raise PreviewError(502, "thumbnails answered a malformed preview")
    headers = {"ETag": f'"{reply.etag}"', "Cache-Control": f"private, max-age={cfg.preview_max_age}"}
    tags = etags(if_none_match)
    if reply.not_modified or reply.etag in tags or "*" in tags:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = reply.mime_type
    if reply.thumbnail:
        return web.Response(body=reply.thumbnail, headers=headers)
    if not reply.data_url:
        raise PreviewError(502, "thumbnails answered neither a preview nor its URL")
    return await _stream(request, thumbs, reply.data_url, headers)


async def _stream(request: web.Request, thumbs: Thumbnails, url: str, headers: dict[str, str]) -> web.StreamResponse:
    """A large preview, streamed from the thumbnails instance's HTTP server."""
    answer = await thumbs.open(url)
    try:
        resp = web.StreamResponse(headers=headers)
        if answer.content_length is not None:
            resp.content_length = answer.content_length
        await resp.prepare(request)
        if request.method != "HEAD":
            async for chunk in answer.content.iter_chunked(READ_SIZE):
                await resp.write(chunk)
        await resp.write_eof()
        return resp
    finally:
        answer.release()
