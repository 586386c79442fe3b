"""Upload-session bytes on the data server, at the session's signed URL (`/data/session/<token>`).

`HEAD` reports the durable offset, `PATCH` with `Upload-Offset` appends at it
(TUS style), `PUT <url>/<name>` stores one named chunk (chunking NG). Each
answers only once the bytes and the new state are durable.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable

from aiohttp import web

from ocisd.api.storage.v1 import errors
from ocisd.storage.sessions import writes
from ocisd.storage.sessions.records import Session
from ocisd.storage.sessions.upload_sessions import UploadSessions

from . import transfer
from .http import batches, disk_full, error_response
from .session_grpc import SESSION_KIND

Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def _state(s: Session, offset: int) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(offset),
        "Upload-Expires": email.utils.formatdate(s.expires, usegmt=True),
        "Cache-Control": "no-store",
    }
    if s.length >= 0:
        headers["Upload-Length"] = str(s.length)
    return headers


def _offset(request: web.Request) -> int:
    text = request.headers.get("Upload-Offset", "")
    if not text.isdigit():
        raise errors.invalid("bad-offset", f"Upload-Offset must be a byte offset, got {text!r}")
    return int(text)


def add_session_routes(app: web.Application, sessions: UploadSessions, secret: str) -> None:
    def route(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                claims = transfer.verify(secret, request.match_info["token"], SESSION_KIND)
                return await handler(request, str(claims["sid"]))
            except errors.StorageError as exc:
                return error_response(exc)
            except OSError as exc:
                return disk_full(exc)

        return run

    async def head(request: web.Request, session_id: str) -> web.StreamResponse:
        s = await sessions.status(session_id)
        return web.Response(status=200, headers=_state(s, s.offset))

    async def patch(request: web.Request, session_id: str) -> web.StreamResponse:
        s, offset = await sessions.append(
            session_id,
            _offset(request),
            batches(request.content, size=writes.WRITE),
            request.content_length,
        )
        return web.Response(status=204, headers=_state(s, offset))

    async def put_chunk(request: web.Request, session_id: str) -> web.StreamResponse:
        name = request.match_info["chunk"]
        created = await sessions.put_chunk(
            session_id, name, batches(request.content, size=writes.WRITE), request.content_length
        )
        return web.Response(status=201 if created else 204)

    app.router.add_route("HEAD", "/data/session/{token}", route(head))
    app.router.add_patch("/data/session/{token}", route(patch))
    app.router.add_put("/data/session/{token}/{chunk}", route(put_chunk))
