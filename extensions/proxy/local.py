"""The fast path inside one runtime: the chosen upstream's application runs in this process.

The request goes through the core's in-process hop (`ocisd.local_http`): the
application handles a clone of the front request through its own router,
middlewares (the internal-token guard included) and response signals. The
proxy's security headers are added through the clone's prepare hook, so they
are on responses the handler streams itself as well.
"""

from __future__ import annotations

import os

from aiohttp import web
from multidict import CIMultiDict

from ocisd.local_http import LocalHttp

from .headers import add_security_headers
from .protocol import FrontRequest
from .routes import Upstream


class LocalApps:
    def __init__(self, hop: LocalHttp, tls: bool) -> None:
        self._hop = hop
        self._pid = os.getpid()
        self._tls = tls

    def app_of(self, up: Upstream) -> web.Application | None:
        return self._hop.app_at(up.address) if up.pid == self._pid else None

    async def call(
        self, app: web.Application, request: web.BaseRequest, headers: CIMultiDict[str], request_id: str
    ) -> web.StreamResponse:
        assert isinstance(request, FrontRequest)
        local = self._hop.clone(app, request, headers=headers)
        assert isinstance(local, FrontRequest)

        def secure(resp: web.StreamResponse) -> None:
            add_security_headers(resp.headers, self._tls, request_id)

        local.on_prepare = secure
        resp = await self._hop.handle(app, local)
        if not resp.prepared:
            # aiohttp's server prepares it with the front request, as any handler's answer (some
            # responses, like FileResponse, prepare only once): the app's signals and ours run then.
            request._match_info = local._match_info
            request.on_prepare = secure
        return resp
