"""The runtime's control endpoint (default 127.0.0.1:9250), used by `ocis list`.

GET  /v0/runtime                     {"pid", "version", "started", "addr"}
GET  /v0/extensions                  [{"name", "state", "pid", "restarts", "addresses", "error", "uptime"}]
POST /v0/extensions/{name}/start     start an installed extension not yet running (409 when it is)
POST /v0/extensions/{name}/stop      stop a running extension
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from ocisd import __version__, addresses
from ocisd.httpd import start_app


class RuntimeControl(Protocol):
    def extensions(self) -> list[dict[str, Any]]: ...

    async def start_extension(self, name: str) -> tuple[int, str]: ...

    async def stop_extension(self, name: str) -> tuple[int, str]: ...


class ControlServer:
    def __init__(self, addr: str, runtime: RuntimeControl) -> None:
        self.addr = addr
        self._runtime = runtime
        self._started = time.time()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v0/runtime", self._about)
        app.router.add_get("/v0/extensions", self._list)
        app.router.add_post("/v0/extensions/{name}/start", self._action(self._runtime.start_extension))
        app.router.add_post("/v0/extensions/{name}/stop", self._action(self._runtime.stop_extension))
        self._runner = await start_app(app, self.addr, "runtime_addr")

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


def request(addr: str, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
    """Call a running runtime's control endpoint; raises OSError when none answers."""
    req = urllib.request.Request(f"http://{addresses.connectable(addr)}{path}", method=method)
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
