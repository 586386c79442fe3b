"""The bus registry as a rolling restart sees it: a subscriber on its own thread and event loop.

`Supervisor` drives supervisord synchronously; a restarted instance counts as
back once peers can choose it, i.e. once a fresh bus subscriber holds it as
`ready`, which this asks for by PID (the PID supervisord reports).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from ocisd.config.shared import SharedConfig
from ocisd.node import Node

T = TypeVar("T")
CALL_TIMEOUT = 30.0  # start (with its snapshot, at most a heartbeat), a look-up, close


class RegistryWatch:
    def __init__(self, shared: SharedConfig) -> None:
        self.shared = shared
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="registry-watch", daemon=True)
        self._node: Node | None = None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT)

    async def _start(self) -> Node:
        node = Node(self.shared)
        await node.start(snapshot=True)
        return node

    async def _ready(self, pid: int) -> bool:
        node = self._node
        assert node is not None
        return any(
            e.record.pid == pid and e.record.host == node.host and e.record.health == "ready"
            for e in node.registry.entries()
        )

    def ready(self, pid: int) -> bool:
        """Whether an instance in process `pid` on this host is in the registry as ready."""
        return self._call(self._ready(pid))

    def __enter__(self) -> RegistryWatch:
        self._thread.start()
        try:
            self._node = self._call(self._start())
        except BaseException:
            self._stop()
            raise
        return self

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._node is not None:
            self._call(self._node.close())
        self._stop()
