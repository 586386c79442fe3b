"""A process's connection to the bus broker: one PUB and one SUB socket.

Messages that fail validation are dropped and counted, never raised in the
receive loop. Handlers are called in the event loop for topics they subscribed
to by prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio
from prometheus_client import CollectorRegistry, Counter

from ocisd.bus.messages import Message, MessageError, decode, encode_event
from ocisd.config.shared import SharedConfig
from ocisd.logs import get_logger

Handler = Callable[[Message], None]


def apply_curve_client(sock: zmq.Socket[Any], shared: SharedConfig) -> None:
    """Make `sock` a CURVE client of the broker when the bus is CURVE-secured."""
    if not shared.bus_curve:
        return
    sock.curve_serverkey = shared.bus_server_public_key.encode()
    sock.curve_publickey = shared.bus_client_public_key.encode()
    sock.curve_secretkey = shared.bus_client_secret_key.encode()


class BusClient:
    def __init__(self, shared: SharedConfig, metrics: CollectorRegistry) -> None:
        self._shared = shared
        self._ctx = zmq.asyncio.Context()
        self._handlers: list[tuple[str, Handler]] = []
        self._task: asyncio.Task[None] | None = None
        # Not under `ocisd.bus`, the broker extension's logger: this client is the process's.
        self._log = get_logger("node.bus")
        self.dropped = Counter(
            "ocisd_bus_dropped_messages",
            "Bus messages dropped on receipt because they were malformed, oversized or of an unknown version.",
            ["reason"],
            registry=metrics,
        )
        self.received = Counter("ocisd_bus_received_messages", "Bus messages received.", registry=metrics)
        self._pub = self._socket(zmq.PUB)
        # Queue nothing while the broker is away: replayed stale heartbeats would lie.
        self._pub.setsockopt(zmq.IMMEDIATE, 1)
        self._sub = self._socket(zmq.SUB)

    def _socket(self, kind: int) -> zmq.asyncio.Socket:
        sock = self._ctx.socket(kind)
        sock.linger = 0
        # Find a restarted broker quickly: registries heal within two heartbeats.
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
        sock.setsockopt(zmq.SNDHWM, 10_000)
        apply_curve_client(sock, self._shared)
        return sock

    def start(self) -> None:
        self._pub.connect(self._shared.bus_pub_addr)
        self._sub.connect(self._shared.bus_sub_addr)
        self._task = asyncio.get_running_loop().create_task(self._receive_loop(), name="bus-receive")

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Call `handler` for every valid message whose topic starts with `prefix`."""
        self._handlers.append((prefix, handler))
        self._sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def send(self, frames: list[bytes]) -> None:
        """Publish without waiting; a full queue drops the message (the bus is soft state)."""
        try:
            self._pub.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self._log.debug("bus send queue full, message dropped")

    def publish_event(self, event: str, data: dict[str, Any]) -> None:
        """Ring a doorbell `event.<event>` for subscribers in any process."""
        self.send(encode_event(event, data))

    async def _receive_loop(self) -> None:
        while True:
            frames = await self._sub.recv_multipart()
            self.received.inc()
            try:
                msg = decode(frames)
            except MessageError as exc:
                self.dropped.labels(reason=exc.reason).inc()
                continue
            for prefix, handler in list(self._handlers):
                if msg.topic.startswith(prefix):
                    try:
                        handler(msg)
                    except Exception:
                        self._log.error("bus handler failed", exc_info=True, topic=msg.topic)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pub.close(linger=0)
        self._sub.close(linger=0)
        self._ctx.term()
