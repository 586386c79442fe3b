"""A real bus client publishing events for the tests, from its own event loop in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from tests.support.harness import Deployment


class Publisher:
    """`publish` returns once the event is handed to the bus; the client hears the bus before the first."""

    def __init__(self, dep: Deployment) -> None:
        self._shared = loader.load(None, None, installed(), dep.env).shared
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        heard = threading.Event()
        self._client: BusClient = self._run(self._start(heard.set))
        # Its own pings come back: connected both ways, and the broker has passed on the subscriptions.
        assert heard.wait(30), "the bus client never heard the bus"

    async def _start(self, heard: Callable[[], None]) -> BusClient:
        client = BusClient(self._shared, CollectorRegistry(), heard=heard)
        client.start()
        return client

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        async def send() -> None:
            self._client.publish_event(event, data)

        self._run(send())

    def close(self) -> None:
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
