"""Runs one extension: start, heartbeat, watch, restart with backoff, stop.

The same runner serves `ocis server` (restart on failure) and
`ocis <name> server` (exit on failure and let supervisord or systemd restart
the process), so an extension behaves the same in and out of the runtime.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import uuid
from collections.abc import Collection, Mapping
from typing import Any

import psutil
from prometheus_client import CollectorRegistry

from ocisd import __version__, addresses
from ocisd.bus.messages import InstanceRecord, encode_record
from ocisd.config import loader
from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError
from ocisd.debug import DebugServer
from ocisd.extension import Context, Extension
from ocisd.logs import extension_logger
from ocisd.node import Node
from ocisd.states import HEALTH_OF_STATE, State

BACKOFF_FIRST = 0.1
BACKOFF_MAX = 30.0
HEALTHY_RESETS_BACKOFF = 60.0
_UNFIXABLE_ERRNOS = {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES}


def startable_config(
    name: str, cls: type[Extension], known: Collection[str], env: Mapping[str, str] | None
) -> EffectiveConfig:
    """`name`'s effective config with its secrets present, no own value of a process-wide setting,
    and `cls.check` passed; ConfigError if not. The same in the runtime and in an own process."""
    cfg = loader.load(name, cls.config, known, env)
    cfg.require_secrets()
    cfg.require_process_wide(loader.load(None, None, known, env).shared)
    shared = cfg.shared
    if shared.drain_timeout < shared.heartbeat_interval and cfg.sources["drain_timeout"] != loader.DEFAULT_SOURCE:
        raise ConfigError(
            f"{cfg.origins['drain_timeout']}: drain_timeout must be at least one heartbeat interval "
            f"({float(shared.heartbeat_interval):g}s), found {float(shared.drain_timeout):g}s"
        )
    cls.check(cfg.own)
    return cfg


def is_unfixable(exc: BaseException) -> bool:
    """Errors a restart cannot fix: the extension goes to `failed` instead of looping."""
    if isinstance(exc, ConfigError):
        return True
    return isinstance(exc, OSError) and exc.errno in _UNFIXABLE_ERRNOS


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.errno in _UNFIXABLE_ERRNOS:
        return exc.strerror if "address" in exc.strerror else f"{exc.strerror}: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class ExtensionRunner:
    def __init__(self, cls: type[Extension], cfg: EffectiveConfig, node: Node, restart: bool = True) -> None:
        self.cls = cls
        self.name = cls.name
        self.cfg = cfg
        self.node = node
        self.restart = restart
        self.state = State.STOPPED
        self.restarts = 0
        self.error = ""
        self.started_at = 0.0
        self.instance = ""
        self.addresses: dict[str, str] = {}
        self.features: list[str] = []
        self.metrics = CollectorRegistry()
        self.settled = asyncio.Event()  # set once RUNNING or FAILED: dependents may start
        self.log = extension_logger(self.name, cfg.shared.log_level)
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._ran = False
        self._ctx: Context | None = None
        self._process = psutil.Process()
        debug_addr = cfg.own.debug_addr
        self._debug = DebugServer(debug_addr, lambda: self.state == State.RUNNING, lambda: [node.metrics, self.metrics])
        self._debug_addr = addresses.advertised(debug_addr, cfg.shared.advertise_host)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": str(self.state),
            "pid": os.getpid(),
            "restarts": self.restarts,
            "addresses": self.addresses,
            "error": self.error,
            "uptime": round(time.time() - self.started_at, 1) if self.state == State.RUNNING else 0,
            "instance": self.instance,
        }

    def record(self) -> InstanceRecord:
        stats: dict[str, float] = {}
        try:
            # cpu: percent since this runner's previous heartbeat, for `ocis top` on other hosts
            stats = {"rss": float(self._process.memory_info().rss), "cpu": self._process.cpu_percent(None)}
        except psutil.Error:
            pass
        return InstanceRecord(
            name=self.name,
            instance=self.instance,
            host=self.node.host,
            pid=os.getpid(),
            started=self.started_at,
            addresses=dict(self.addresses),
            version=__version__,
            health=HEALTH_OF_STATE[self.state],
            restarts=self.restarts,
            routes=list(self.cls.routes),
            stats=stats,
            features=list(self.features),
            address=addresses.host_address(self.cfg.shared.advertise_host),
        )

    def _publish(self, kind: str) -> None:
        rec = self.record()
        if kind == "bye":
            self.node.registry.remove_local(rec.instance)
        else:
            self.node.registry.put_local(rec)
        self.node.bus.send(encode_record(kind, rec))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.shared.heartbeat_interval)
            if self.state == State.RUNNING:  # not while draining: peers must not take it back
                self._publish("heartbeat")

    async def leave(self) -> None:
        """Graceful stop, first part: say `bye` so peers stop choosing this instance, then keep
        serving what is in flight and what still arrives for the drain timeout.

        Callers in this process may still pick it while no other instance is ready (a runtime's
        extensions all leave at once and still call each other). Only a running instance drains.
        """
        if self.state != State.RUNNING or self._ctx is None:
            return
        self.state = State.STOPPING
        await self._ctx.set_serving(False)
        rec = self.record()
        self.node.registry.put_local(rec)
        self.node.bus.send(encode_record("bye", rec))
        drain = self.cfg.shared.drain
        self.log.info("extension draining", seconds=drain)
        await asyncio.sleep(drain)

    async def run(self) -> None:
        """Run until stopped, or until failed (unfixable error, or any error without restart)."""
        self._ran = True
        try:
            await self._debug.start()
        except OSError as exc:
            self._fail(exc)
            return
        try:
            await self._supervise()
        finally:
            await self._debug.close()
            self._stopped.set()

    def _fail(self, exc: BaseException) -> None:
        self.state = State.FAILED
        self.error = describe_error(exc)
        self.log.error("extension failed", error=self.error)
        self.settled.set()

    async def _supervise(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            healthy_since, failure = await self._attempt()
            if self._stop.is_set():
                break
            assert failure is not None
            if is_unfixable(failure) or not self.restart:
                self._fail(failure)
                return
            if healthy_since and time.monotonic() - healthy_since >= HEALTHY_RESETS_BACKOFF:
                backoff = BACKOFF_FIRST
            self.restarts += 1
            self.state = State.BACKOFF
            self.error = describe_error(failure)
            self.log.warning("extension crashed, restarting", error=self.error, backoff=backoff, restarts=self.restarts)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, BACKOFF_MAX)
        self.state = State.STOPPED

    async def _attempt(self) -> tuple[float, BaseException | None]:
        """One start-to-end life of the extension. Returns (monotonic ready time or 0, failure)."""
        self.state = State.STARTING
        self.instance = uuid.uuid4().hex[:12]
        self.started_at = time.time()
        self.metrics = CollectorRegistry()
        self.log.debug("extension starting", instance=self.instance)
        ctx = self._ctx = Context(self.cfg, self.node, self.log, self.metrics)
        self.addresses = ctx.addresses
        self.features = ctx.features
        ctx.addresses["debug"] = self._debug_addr
        ext = self.cls()
        healthy_since = 0.0
        failure: BaseException | None = None
        heartbeat: asyncio.Task[None] | None = None
        try:
            self._publish("announce")
            await ext.start(ctx)
            self.state = State.RUNNING
            self.error = ""
            healthy_since = time.monotonic()
            await ctx.set_serving(True)
            self._publish("heartbeat")
            heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
            self.settled.set()
            self.log.info("extension ready", addresses=" ".join(f"{k}={v}" for k, v in self.addresses.items()))
            stop_wait = asyncio.ensure_future(self._stop.wait())
            fail_wait = asyncio.ensure_future(ctx.wait_failure())
            await asyncio.wait({stop_wait, fail_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            if fail_wait.done():
                failure = fail_wait.result()
            else:
                fail_wait.cancel()
        except Exception as exc:  # the extension's own start failed
            failure = exc
        if failure is not None and not is_unfixable(failure):
            self.log.error("extension error", error=describe_error(failure), exc_info=False)
        if heartbeat is not None:
            heartbeat.cancel()
        if failure is None:
            await self.leave()
        self.state = State.STOPPING
        grace = float(self.cfg.shared.shutdown_grace)
        await ctx.set_serving(False)
        self._publish("bye")
        try:
            await asyncio.wait_for(ext.stop(), timeout=grace)
        except Exception as exc:
            self.log.warning("extension stop failed", error=describe_error(exc))
        await ctx.close(grace / 2)
        return healthy_since, failure

    async def stop(self) -> None:
        """Stop the extension and wait until it is down."""
        self._stop.set()
        if self._ran:
            await self._stopped.wait()
