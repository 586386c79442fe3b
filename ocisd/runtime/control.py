"""The runtime's control endpoint (default 127.0.0.1:9250), used by `ocis list`.

GET  /v0/runtime                     {"pid", "version", "started", "addr"}
GET  /v0/extensions                  [{"name", "state", "pid", "restarts", "addresses", "error", "uptime"}]
POST /v0/extensions/{name}/start     start an installed extension not yet running (409 when it is)
POST /v0/extensions/{name}/stop      stop a running extension

Every call carries `Authorization: Bearer <token>`, the token being an HMAC of
a fixed label keyed with the config's jwt_secret: whoever can read the config
(its owner, the config is 0600) can drive the runtime, and nobody else on the
host. A token rather than a unix socket keeps `runtime_addr` a TCP address, as
documented and scripted. A request without the token gets 401; one with an
`Origin` header gets 403, whatever it carries: only browsers send it, and no
web page has business here. Neither changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

from ocisd import __version__, addresses
from ocisd.config.shared import SharedConfig
from ocisd.httpd import start_app

TOKEN_LABEL = b"ocisd runtime control v1"


def token(shared: SharedConfig) -> str:
    """The bearer token of the runtime that `shared` configures."""
    return hmac.new(shared.jwt_secret.encode(), TOKEN_LABEL, hashlib.sha256).hexdigest()


class RuntimeControl(Protocol):
    def extensions(self) -> list[dict[str, Any]]: ...

    async def start_extension(self, name: str) -> tuple[int, str]: ...

    async def stop_extension(self, name: str) -> tuple[int, str]: ...


class ControlServer:
    def __init__(self, shared: SharedConfig, runtime: RuntimeControl) -> None:
        self.addr = shared.runtime_addr
        self._authorization = f"Bearer {token(shared)}".encode()
        self._runtime = runtime
        self._started = time.time()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/v0/runtime", self._about)
        app.router.add_get("/v0/extensions", self._list)
        app.router.add_post("/v0/extensions/{name}/start", self._action(self._runtime.start_extension))
        app.router.add_post("/v0/extensions/{name}/stop", self._action(self._runtime.stop_extension))
        self._runner = await start_app(app, self.addr, "runtime_addr")

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if "Origin" in request.headers:
            return web.json_response({"message": "cross-origin requests are refused"}, status=403)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._authorization):
            return web.json_response(
                {"message": "the runtime's token is required"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="ocisd runtime"'},
            )
        return await handler(request)

    async def _about(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"pid": os.getpid(), "version": __version__, "started": self._started, "addr": self.addr}
        )

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response(self._runtime.extensions())

    def _action(
        self, fn: Callable[[str], Awaitable[tuple[int, str]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            status, message = await fn(request.match_info["name"])
            return web.json_response({"message": message}, status=status)

        return handle

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def request(shared: SharedConfig, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
    """Call the control endpoint of the runtime `shared` configures; raises OSError when none answers."""
    req = urllib.request.Request(
        f"http://{addresses.connectable(shared.runtime_addr)}{path}",
        method=method,
        headers={"Authorization": f"Bearer {token(shared)}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        raise ControlError(exc.code, body.get("message", exc.reason)) from None


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
