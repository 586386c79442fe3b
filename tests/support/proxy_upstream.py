"""A tiny real upstream for proxy tests and benchmarks: a byte source and sink on the bus.

`python -m tests.support.proxy_upstream --name blob --route /blob/ --http 127.0.0.1:PORT`
serves, under the route prefix,

- `GET  source/<n>`  n bytes of `pattern()` streamed (never held whole; `?chunked` without a length),
- `PUT  sink`        reads the body streaming, answers {"bytes": n, "sha256": hex},
- `GET  echo`        answers {"headers": {...}, "instance": ...},
- `GET  stats`       answers {"requests": n} (every request this instance saw),
- `GET  small`       a 13-byte text answer,
- `GET  granted/<n>` like `source/<n>`, but asked for a file hand-over it
                     grants one and never sends the descriptor (a lost one),

and announces itself on the bus like an extension (announce, heartbeat every
interval, bye on SIGTERM) with `routes=[route]` and `addresses["http"]`, so the
proxy finds it exactly as it finds an extension. Bus addresses come from the
usual OCIS_* environment.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import socket
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry

from ocisd import addresses, handover
from ocisd.bus.client import BusClient
from ocisd.bus.messages import InstanceRecord, encode_record
from ocisd.config import loader
from ocisd.discovery import installed

BLOCK = bytes(range(256)) * 4096  # 1 MiB


def pattern(n: int) -> bytes:
    """The first n bytes a source sends (for checking hashes in tests)."""
    whole, rest = divmod(n, len(BLOCK))
    return BLOCK * whole + BLOCK[:rest]


def pattern_sha256(n: int) -> str:
    h = hashlib.sha256()
    whole, rest = divmod(n, len(BLOCK))
    for _ in range(whole):
        h.update(BLOCK)
    h.update(BLOCK[:rest])
    return h.hexdigest()


def make_app(route: str, instance: str) -> web.Application:
    seen = {"requests": 0}

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen["requests"] += 1
        resp = await handler(request)
        resp.headers["X-Upstream-Instance"] = instance
        return resp

    async def source(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if "chunked" not in request.query:
            resp.content_length = n
        await resp.prepare(request)
        while n > 0 and request.method != "HEAD":
            chunk = BLOCK if n >= len(BLOCK) else BLOCK[:n]
            await resp.write(chunk)
            n -= len(chunk)
        await resp.write_eof()
        return resp

    async def sink(request: web.Request) -> web.Response:
        h, n = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            h.update(chunk)
            n += len(chunk)
        return web.json_response({"bytes": n, "sha256": h.hexdigest()})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"headers": dict(request.headers), "instance": instance, "path": request.path_qs})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(seen)

    async def small(request: web.Request) -> web.Response:
        return web.Response(text="hello, world\n")

    async def granted(request: web.Request) -> web.StreamResponse:
        if handover.HEADER in request.headers:
            return web.Response(headers={handover.HEADER: f"0 {request.match_info['n']}"})
        return await source(request)

    app = web.Application(middlewares=[count], client_max_size=1 << 40)
    app.router.add_get(f"{route}source/{{n:\\d+}}", source)
    app.router.add_route("*", f"{route}sink", sink)
    app.router.add_get(f"{route}echo", echo)
    app.router.add_get(f"{route}stats", stats)
    app.router.add_get(f"{route}small", small)
    app.router.add_get(f"{route}granted/{{n:\\d+}}", granted)
    return app


async def serve(name: str, route: str, http_addr: str) -> None:
    cfg = loader.load(None, None, installed(), os.environ)
    bus = BusClient(cfg.shared, CollectorRegistry())
    bus.start()
    instance = uuid.uuid4().hex[:12]
    runner = web.AppRunner(
        make_app(route, instance), access_log=None, handle_signals=False, max_field_size=65536, max_line_size=65536
    )
    await runner.setup()
    host, port = addresses.split(http_addr)
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    record = InstanceRecord(
        name=name,
        instance=instance,
        host=socket.gethostname(),
        pid=os.getpid(),
        started=time.time(),
        addresses={"http": addresses.connectable(http_addr)},
        health="ready",
        routes=[route],
    )
    await announce_until_stopped(bus, record, float(cfg.shared.heartbeat_interval))
    await runner.cleanup()
    await bus.close()


async def announce_until_stopped(bus: BusClient, record: InstanceRecord, interval: float) -> None:
    """Announce `record`, heartbeat it every `interval` until SIGTERM or SIGINT, then say bye."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bus.send(encode_record("announce", record))
    while not stop.is_set():
        bus.send(encode_record("heartbeat", record))
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
    bus.send(encode_record("bye", record))
    await asyncio.sleep(0.1)  # let the bye leave


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--name", default="blob")
    p.add_argument("--route", default="/blob/")
    p.add_argument("--http", required=True, help="listen address host:port")
    args = p.parse_args()
    asyncio.run(serve(args.name, args.route, args.http))


if __name__ == "__main__":
    main()
