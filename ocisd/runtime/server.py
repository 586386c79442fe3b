"""`ocis server`: every selected extension in one process and one asyncio loop."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
from collections.abc import Mapping
from typing import Any

import psutil

from ocisd import addresses
from ocisd.bus.client import check_security
from ocisd.config import loader
from ocisd.config.loader import EffectiveConfig
from ocisd.config.shared import SharedConfig
from ocisd.discovery import dependencies, installed
from ocisd.logs import get_logger
from ocisd.node import Node
from ocisd.runtime import control
from ocisd.runtime.runner import ExtensionRunner, startable_config
from ocisd.states import State

ACTIVE = (State.STARTING, State.RUNNING, State.BACKOFF, State.STOPPING)


class RuntimeBusyError(Exception):
    """Another process holds the runtime's control address."""


def holder_of(shared: SharedConfig) -> int | None:
    """PID of the process listening on the runtime's address, asked of its runtime first, then of the OS."""
    addr = shared.runtime_addr
    try:
        return int(control.request(shared, "/v0/runtime", timeout=2.0)["pid"])
    except (OSError, ValueError, KeyError, control.ControlError):
        pass
    _, port = addresses.split(addr)
    try:
        for conn in psutil.net_connections("inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    except psutil.Error:
        pass
    return None


class Runtime:
    def __init__(self, names: list[str], env: Mapping[str, str]) -> None:
        self.env = env
        self.known = installed()
        self.shared_cfg = loader.load(None, None, self.known, env)
        self.shared_cfg.require_secrets()
        self.configs = {n: self._load(n) for n in names}
        self.order = list(names)
        self.runners: dict[str, ExtensionRunner] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.log = get_logger("runtime")
        self.node: Node | None = None

    def _load(self, name: str) -> EffectiveConfig:
        return startable_config(name, self.known[name], self.known, self.env)

    def extensions(self) -> list[dict[str, Any]]:
        return [self.runners[n].info() for n in self.order if n in self.runners]

    def _launch(self, name: str) -> None:
        assert self.node is not None
        runner = ExtensionRunner(self.known[name], self.configs[name], self.node)
        self.runners[name] = runner
        deps = [self.runners[d] for d in dependencies(self.known[name]) if d in self.runners]

        async def run() -> None:
            runner.state = State.STARTING
            for dep in deps:
                await dep.settled.wait()
            await runner.run()

        self.tasks[name] = asyncio.get_running_loop().create_task(run(), name=f"runner:{name}")

    async def start_extension(self, name: str) -> tuple[int, str]:
        if name not in self.known:
            return 404, f"unknown extension {name!r}; known extensions: {', '.join(self.known)}"
        runner = self.runners.get(name)
        if runner is not None and runner.state in ACTIVE:
            return 409, f"extension {name!r} already runs in this runtime (PID {os.getpid()})"
        try:
            self.configs[name] = self._load(name)
        except loader.ConfigError as exc:
            return 400, str(exc)
        if name not in self.order:
            self.order.append(name)
        self._launch(name)
        return 202, f"starting {name}"

    async def stop_extension(self, name: str) -> tuple[int, str]:
        runner = self.runners.get(name)
        if runner is None or runner.state not in ACTIVE:
            return 409, f"extension {name!r} is not running"
        await self._stop_one(name)
        return 200, f"stopped {name}"

    async def _stop_one(self, name: str) -> None:
        runner, task = self.runners[name], self.tasks[name]
        shared = self.configs[name].shared
        stopping = asyncio.ensure_future(runner.stop())
        # The drain comes first unless the runtime's stop already drained every extension at once.
        done, _ = await asyncio.wait({stopping, task}, timeout=shared.drain + float(shared.shutdown_grace) + 1)
        if task not in done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            stopping.cancel()
        runner.state = State.STOPPED
        self.log.info("extension stopped", ext=name)

    async def serve(self) -> int:
        check_security(self.shared_cfg)
        addr = self.shared_cfg.shared.runtime_addr
        ctl = control.ControlServer(self.shared_cfg.shared, self)
        try:
            await ctl.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            pid = await asyncio.to_thread(holder_of, self.shared_cfg.shared)
            holder = f"PID {pid}" if pid else "another process"
            raise RuntimeBusyError(f"runtime address {addr} is already in use by {holder}") from None
        self.node = Node(self.shared_cfg.shared)
        await self.node.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.log.info("runtime started", pid=os.getpid(), addr=addr, extensions=",".join(self.order))
        for name in self.order:
            self._launch(name)
        await stop.wait()
        self.log.info("runtime stopping", pid=os.getpid())
        # Every extension says bye and drains at once (peers on other hosts stop choosing them,
        # requests in flight here finish), then they stop one by one in reverse order.
        await asyncio.gather(*(r.leave() for r in self.runners.values()))
        for name in reversed(self.order):
            if name in self.runners:
                await self._stop_one(name)
        await self.node.close()
        await ctl.close()
        self.log.info("runtime stopped", pid=os.getpid())
        return 0
