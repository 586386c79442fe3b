"""The in-process HTTP hop: hand a request to an aiohttp application this process serves, no socket.

Inside one runtime the proxy (to any extension) and ocdav (to a storage data
server) reach applications that live in their own process. The application
then handles a clone of the caller's request (new headers, perhaps a new
method and path, the same connection and streaming body) through its own
router, middlewares (the internal-token guard included) and response signals,
exactly as if the request had come over loopback: only the socket, a second
HTTP parse and the copying are saved. `Context.serve_http` registers every
application here; `OCIS_LOCAL_HOP=false` turns the hop off (`app_at` finds
nothing), so callers take the socket instead.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


class LocalHttp:
    """The HTTP applications this process serves, by the address they announce."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled  # OCIS_LOCAL_HOP
        self._apps: dict[str, web.Application] = {}

    def add(self, addr: str, app: web.Application) -> None:
        self._apps[addr] = app

    def remove(self, app: web.Application) -> None:
        self._apps = {a: known for a, known in self._apps.items() if known is not app}

    def app_at(self, addr: str) -> web.Application | None:
        """The application serving `addr` in this process; None elsewhere or when the hop is off."""
        return self._apps.get(addr) if self.enabled else None

    @staticmethod
    def clone(app: web.Application, request: web.Request, **changes: Any) -> web.Request:
        """`request` (received by a server of this process) as `app` would receive it.

        `changes` are `BaseRequest.clone`'s (method, rel_url, headers); the body
        size limit becomes the application's own.
        """
        return request.clone(client_max_size=app._client_max_size, **changes)

    @staticmethod
    async def handle(app: web.Application, request: web.Request) -> web.StreamResponse:
        """`app`'s answer to `request` (from `clone`), as its own server would take it.

        An `HTTPException` the application raises is the answer, as for aiohttp's
        server; any other exception is the caller's to handle. The answer may be
        unprepared: whoever sends it prepares it.
        """
        try:
            return await app._handle(request)
        except web.HTTPException as exc:
            return exc
