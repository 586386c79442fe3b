"""A third-party extension as someone outside the project would write it.

It serves a tiny HTTP endpoint and, when `crash_every` is set, fails on
purpose so tests can watch the runtime restart it with backoff.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from ocisd.config.schema import Duration, setting
from ocisd.extension import Context, Extension


@dataclass
class DemoConfig:
    http_addr: str = setting("127.0.0.1:9301", "HTTP address.")
    debug_addr: str = setting("127.0.0.1:9302", "Debug address.")
    crash_every: Duration = setting(Duration(0), "Crash this long after each start (0: never).")


class Demo(Extension):
    name = "demo"
    summary = "third-party demo extension"
    config = DemoConfig

    async def start(self, ctx: Context) -> None:
        app = web.Application()
        app.router.add_get("/demo", lambda request: web.Response(text="demo\n"))
        await ctx.serve_http(app, public=("/demo",))  # open to anyone, like hello's page
        if ctx.config.crash_every:
            ctx.create_task(self._crash(float(ctx.config.crash_every)), "crash")

    async def _crash(self, after: float) -> None:
        await asyncio.sleep(after)
        raise RuntimeError("demo crashed on purpose")
