"""The fast path inside one runtime: hand a request to a local extension's aiohttp app, no socket.

When the chosen upstream instance runs in this very process, its application
handles a clone of the front request (new headers, same connection, same
streaming body), through its own router, middlewares (the internal-token
guard included) and response signals, exactly as if the request had come over
loopback: only the socket, a second HTTP parse and the copying are saved. The
proxy's security headers are added through the clone's prepare hook, so they
are on responses the handler streams itself as well.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aiohttp import web
from multidict import CIMultiDict

from .headers import add_security_headers
from .protocol import FrontRequest
from .routes import Upstream


class LocalApps:
    def __init__(self, apps: Mapping[str, web.Application], enabled: bool, tls: bool) -> None:
        self._apps = apps if enabled else {}
        self._pid = os.getpid()
        self._tls = tls

    def app_of(self, up: Upstream) -> web.Application | None:
        return self._apps.get(up.address) if up.pid == self._pid else None

    async def call(
        self, app: web.Application, request: web.BaseRequest, headers: CIMultiDict[str], request_id: str
    ) -> web.StreamResponse:
        assert isinstance(request, FrontRequest)
        local = request.clone(headers=headers, client_max_size=app._client_max_size)
        assert isinstance(local, FrontRequest)

        def secure(resp: web.StreamResponse) -> None:
            add_security_headers(resp.headers, self._tls, request_id)

        local.on_prepare = secure
        try:
            resp = await app._handle(local)
        except web.HTTPException as exc:  # aiohttp's own server answers these as responses too
            resp = exc
        if not resp.prepared:
            # aiohttp's server prepares it with the front request, as any handler's answer (some
            # responses, like FileResponse, prepare only once): the app's signals and ours run then.
            request._match_info = local._match_info
            request.on_prepare = secure
        return resp
