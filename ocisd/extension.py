"""The extension API: what an extension declares and what it receives at start.

An extension is a small class::

    class Hello(Extension):
        name = "hello"
        config = HelloConfig          # dataclass of `setting()` fields
        depends = ()                  # other extensions it needs ready first
        routes = ("/hello/", "/api/v0/greet")   # HTTP prefixes the proxy sends here

        async def start(self, ctx: Context) -> None: ...
        async def stop(self) -> None: ...

It behaves the same inside `ocis server` and as `ocis hello server`: only the
PID differs. Servers started through the context run as one group: when one
fails, the extension fails as a unit and is restarted.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import grpc
import grpc.aio
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from ocisd import addresses, authz
from ocisd.config.loader import EffectiveConfig
from ocisd.httpd import start_app
from ocisd.logs import Logger
from ocisd.node import Node

GRPC_SERVER_OPTIONS = [
    # Without this a second process silently binds the same port.
    ("grpc.so_reuseport", 0),
    ("grpc.max_concurrent_streams", 1000),
]


@dataclass
class ExtensionCommand:
    """An extra `ocis <name> <command>` an extension offers (e.g. `ocis proxy routes`)."""

    name: str
    help: str
    setup: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, EffectiveConfig], int]


class Extension:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    config: ClassVar[type | None] = None
    depends: ClassVar[tuple[str, ...]] = ()
    routes: ClassVar[tuple[str, ...]] = ()
    commands: ClassVar[tuple[ExtensionCommand, ...]] = ()
    # Runs only when named (OCIS_RUN_EXTENSIONS, OCIS_ADD_RUN_EXTENSIONS): it needs a peer the
    # embedded defaults do not have (antivirus: a clamd).
    optional: ClassVar[bool] = False

    @classmethod
    def check(cls, config: Any) -> None:
        """Reject values the config's types let through (raise ConfigError): exit 2 before anything starts."""

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str] | None:
        """`ocis <name> migrate`: apply the extension's schema migrations and return what was applied
        (an empty list: already up to date). ConfigError (exit 2) when its settings keep no database
        to migrate or the database cannot be reached. None = the extension has no migrations (no command)."""
        return None

    async def start(self, ctx: Context) -> None:
        """Start serving; return once ready. Long-running work goes into `ctx.create_task`."""

    async def stop(self) -> None:
        """Release what `start` acquired beyond the context's servers and tasks."""


class Context:
    """What an extension gets at start: config, logger, metrics, bus, registry, calls, servers."""

    def __init__(self, cfg: EffectiveConfig, node: Node, log: Logger, metrics: CollectorRegistry) -> None:
        assert cfg.name is not None
        self.name: str = cfg.name
        self.effective = cfg
        self.config: Any = cfg.own
        self.shared = cfg.shared
        self.log = log
        self.metrics = metrics
        self.node = node
        self.bus = node.bus
        self.registry = node.registry
        # Per extension in both modes: the rpc deadline and wait; the process's channels and bound stay shared.
        self.rpc = node.rpc.for_extension(cfg.shared.grpc_deadline, cfg.shared.grpc_no_instance_wait, log)
        self.local_http = node.local_http  # the in-process HTTP hop to applications of this process
        self.addresses: dict[str, str] = {}
        self.features: list[str] = []  # what this instance offers beyond its routes (capabilities read them)
        self._health: health.aio.HealthServicer | None = None
        self._grpc_servers: list[grpc.aio.Server] = []
        self._http_runners: list[web.AppRunner] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    @property
    def data_dir(self) -> Path:
        path = self.effective.data_dir()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    async def serve_grpc(
        self, register: Callable[[grpc.aio.Server], None], key: str = "grpc_addr", public: Sequence[str] = ()
    ) -> grpc.aio.Server:
        """Serve gRPC on the configured address, with `grpc.health.v1` following readiness.

        Every method needs a valid internal token except health and those whose
        full name starts with an entry of `public` (e.g. "/ocisd.hello.v1.Hello/").
        """
        addr = getattr(self.config, key)
        addresses.split(addr, key)
        interceptors = [authz.GrpcGuard(self.shared.jwt_secret, public)]
        server = grpc.aio.server(options=GRPC_SERVER_OPTIONS, interceptors=interceptors)
        # Callers in this process skip the channel, through the same interceptors (ocisd.rpc.local).
        register(self.rpc.local.recording(server, self.advertised(addr), interceptors))
        if self._health is None:
            self._health = health.aio.HealthServicer()
            await self._health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        try:
            port = server.add_insecure_port(addr)
        except RuntimeError:
            port = 0
        if port == 0:
            raise OSError(errno.EADDRINUSE, f"cannot bind gRPC address {addr}: already in use")
        await server.start()
        self._grpc_servers.append(server)
        self.addresses[key.removesuffix("_addr")] = self.advertised(addr)
        return server

    async def serve_http(self, app: web.Application, key: str = "http_addr", public: Sequence[str] = ()) -> None:
        """Serve an aiohttp application on the configured address.

        Every path needs a valid internal token except those under an entry of
        `public` (`authz.is_public`; `authz.ALL` makes every path public).
        """
        addr = getattr(self.config, key)
        app.middlewares.insert(0, authz.http_guard(self.shared.jwt_secret, public))
        self._http_runners.append(await start_app(app, addr, key))
        self.addresses[key.removesuffix("_addr")] = self.advertised(addr)
        self.local_http.add(self.advertised(addr), app)

    def advertised(self, addr: str) -> str:
        """What peers on any host dial for the listen address `addr` (OCIS_ADVERTISE_HOST for a wildcard)."""
        return addresses.advertised(addr, self.shared.advertise_host)

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run background work that belongs to the extension: if it ends, the extension failed."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or self._failed.done():
            return
        exc = task.exception() or RuntimeError(f"task {task.get_name()} ended")
        self._failed.set_result(exc)

    def fail(self, exc: BaseException) -> None:
        """Report a failure found outside a task (e.g. in a callback)."""
        if not self._failed.done():
            self._failed.set_result(exc)

    async def wait_failure(self) -> BaseException:
        return await self._failed

    async def set_serving(self, serving: bool) -> None:
        if self._health is not None:
            status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
            await self._health.set("", status)

    async def close(self, grace: float) -> None:
        """Stop every server and task this context started."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(s.stop(grace) for s in self._grpc_servers), return_exceptions=True)
        for runner in self._http_runners:
            self.local_http.remove(runner.app)
            await runner.cleanup()
        self._grpc_servers.clear()
        self._http_runners.clear()
