"""`ocis <name> server`: one extension in the foreground, in its own process.

It reads the same config and serves the same addresses as inside the runtime.
It does not restart itself: when the extension fails the process exits 1 (2 for a config error), and
supervisord or systemd (which own restarts here) start it again.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from ocisd import sdnotify
from ocisd.bus.client import check_security
from ocisd.discovery import load_one, names
from ocisd.node import Node
from ocisd.runtime.runner import ExtensionRunner, startable_config
from ocisd.states import State


async def _watchdog(runner: ExtensionRunner, every: float) -> None:
    # Sent from the event loop, so a stuck loop stops the pings and systemd notices.
    while True:
        if runner.state == State.RUNNING:
            sdnotify.notify("WATCHDOG=1")
        await asyncio.sleep(every)


async def _notify_ready(runner: ExtensionRunner) -> None:
    await runner.settled.wait()
    if runner.state == State.RUNNING:
        sdnotify.notify(f"READY=1\nSTATUS={runner.name} running")


async def serve_one(name: str, env: Mapping[str, str]) -> int:
    cls = load_one(name)
    cfg = startable_config(name, cls, names(), env)
    check_security(cfg)
    node = Node(cfg.shared)
    await node.start(snapshot=name != "bus")  # the broker has nobody to ask
    runner = ExtensionRunner(cls, cfg, node, restart=False)
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        sdnotify.notify("STOPPING=1")
        loop.create_task(runner.stop())

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    helpers = [loop.create_task(_notify_ready(runner))]
    every = sdnotify.watchdog_interval()
    if every:
        helpers.append(loop.create_task(_watchdog(runner, every)))
    try:
        await runner.run()
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await node.close()
    if runner.state == State.FAILED:
        return 2 if runner.config_error else 1  # 2: restarting cannot fix it (systemd, supervisord)
    return 0
