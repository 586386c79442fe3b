"""A process's connection to the bus brokers: one PUB and one SUB socket, each connected to every broker.

Every message published reaches each broker and comes back through each: it is
stamped with this process's sender id and a sequence number, and one heard
again (through another broker) is handled once. A ping of its own every half
heartbeat tells the process whether it hears the bus (`heard` is called for
every valid message, the pings included).

Messages that fail validation are dropped and counted, never raised in the
receive loop; so is a record claiming this host with a PID that is not a live
process of this user (a forger on an open bus names no process of ours).
Handlers are called in the event loop for topics they subscribed to by prefix.

CURVE secures the bus whenever the config holds the broker's public key (always
after `ocis init`) unless `bus_curve` is false.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import psutil
import zmq
import zmq.asyncio
from prometheus_client import CollectorRegistry, Counter

from ocisd.bus.messages import (
    InstanceRecord,
    Message,
    MessageError,
    decode,
    encode_event,
    encode_ping,
    encode_sync,
    stamp,
)
from ocisd.config.loader import DEFAULT_SOURCE, EffectiveConfig
from ocisd.config.schema import ConfigError
from ocisd.config.shared import SharedConfig
from ocisd.logs import get_logger

Handler = Callable[[Message], None]
SYNC_RETRY = 0.05  # a sync request sent before the connections are up is lost: ask again this often
PINGS_PER_HEARTBEAT = 2
SEQ_WINDOW = 1024  # a sender's message this far behind its newest is taken as heard already
WINDOW_BITS = (1 << SEQ_WINDOW) - 1
MAX_SENDERS = 10_000  # senders remembered for de-duplication; the longest silent is forgotten first


def curve_on(shared: SharedConfig) -> bool:
    """Whether this process's bus (broker and clients) is CURVE-secured."""
    return shared.bus_curve and bool(shared.bus_server_public_key)


def check_security(cfg: EffectiveConfig) -> None:
    """Once per serving process: refuse CURVE asked for without keys, warn once when the bus is open."""
    shared = cfg.shared
    if curve_on(shared):
        if not (shared.bus_client_public_key and shared.bus_client_secret_key):
            raise ConfigError("bus CURVE needs bus_client_public_key and bus_client_secret_key: run `ocis init`")
        return
    if shared.bus_curve and cfg.sources["bus_curve"] != DEFAULT_SOURCE:
        raise ConfigError(f"{cfg.origins['bus_curve']}: bus_curve is true but the config holds no bus CURVE keys")
    why = "bus_curve is false" if not shared.bus_curve else "the config holds no bus CURVE keys"
    get_logger("node.bus").warning(
        "the bus is open: any local process can announce instances and read the bus", reason=why
    )


def apply_curve_client(sock: zmq.Socket[Any], shared: SharedConfig) -> None:
    """Make `sock` a CURVE client of the broker when the bus is CURVE-secured."""
    if not curve_on(shared):
        return
    sock.curve_serverkey = shared.bus_server_public_key.encode()
    sock.curve_publickey = shared.bus_client_public_key.encode()
    sock.curve_secretkey = shared.bus_client_secret_key.encode()


class Seen:
    """The (sender, sequence number) pairs heard lately: a message that comes through two brokers counts once.

    Per sender: its newest number and a bit per number of the SEQ_WINDOW before it (bit 0: the newest)."""

    def __init__(self) -> None:
        self._senders: OrderedDict[str, tuple[int, int]] = OrderedDict()  # src -> (newest seq, bits heard)

    def first(self, src: str, seq: int) -> bool:
        """Whether (src, seq) is heard for the first time; remembers it."""
        newest, bits = self._senders.pop(src, (-1, 0))
        if seq > newest:
            ahead = seq - newest
            bits = ((bits << ahead) | 1) & WINDOW_BITS if ahead < SEQ_WINDOW else 1
            newest, fresh = seq, True
        else:
            behind = newest - seq
            fresh = behind < SEQ_WINDOW and not (bits >> behind) & 1
            if fresh:
                bits |= 1 << behind
        self._senders[src] = (newest, bits)
        while len(self._senders) > MAX_SENDERS:
            self._senders.popitem(last=False)
        return fresh


class BusClient:
    def __init__(
        self, shared: SharedConfig, metrics: CollectorRegistry, heard: Callable[[], None] = lambda: None
    ) -> None:
        self._shared = shared
        self._heard = heard
        self._id = uuid.uuid4().hex
        self._seq = itertools.count()
        self._seen = Seen()
        self._ctx = zmq.asyncio.Context()
        self._handlers: list[tuple[str, Handler]] = []
        self._host = socket.gethostname()
        self._tasks: list[asyncio.Task[None]] = []
        # Not under `ocisd.bus`, the broker extension's logger: this client is the process's.
        self._log = get_logger("node.bus")
        self.dropped = Counter(
            "ocisd_bus_dropped_messages",
            "Bus messages dropped on receipt: malformed, oversized, of an unknown version, "
            "or naming a PID of this host that is no live process of this user (pid).",
            ["reason"],
            registry=metrics,
        )
        self.received = Counter("ocisd_bus_received_messages", "Bus messages received.", registry=metrics)
        self.duplicates = Counter(
            "ocisd_bus_duplicate_messages",
            "Bus messages heard again through another broker, handled once.",
            registry=metrics,
        )
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
        for pub, sub in self._shared.bus_brokers():
            self._pub.connect(pub)
            self._sub.connect(sub)
        self.subscribe(f"ping.{self._id}", lambda _: None)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._receive_loop(), name="bus-receive"),
            loop.create_task(self._ping_loop(), name="bus-ping"),
        ]

    async def _ping_loop(self) -> None:
        while True:
            self.send(encode_ping(self._id))
            await asyncio.sleep(float(self._shared.heartbeat_interval) / PINGS_PER_HEARTBEAT)

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Call `handler` for every valid message whose topic starts with `prefix`."""
        self._handlers.append((prefix, handler))
        self._sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def unsubscribe(self, prefix: str, handler: Handler) -> None:
        self._handlers.remove((prefix, handler))
        self._sub.setsockopt(zmq.UNSUBSCRIBE, prefix.encode())

    async def snapshot(self, handler: Handler, limit: float) -> bool:
        """Ask the broker for the records it holds and pass each to `handler` (checked like a
        heartbeat); True once its answer is complete, False when none came within `limit` s."""
        nonce = uuid.uuid4().hex
        done = asyncio.Event()

        def receive(msg: Message) -> None:
            if msg.done:
                done.set()
            elif not done.is_set():
                handler(msg)

        topic = f"snapshot.{nonce}"
        self.subscribe(topic, receive)
        deadline = asyncio.get_running_loop().time() + limit
        try:
            while not done.is_set() and asyncio.get_running_loop().time() < deadline:
                self.send(encode_sync(nonce))
                try:
                    await asyncio.wait_for(done.wait(), SYNC_RETRY)
                except TimeoutError:
                    pass
        finally:
            self.unsubscribe(topic, receive)
        return done.is_set()

    def send(self, frames: list[bytes]) -> None:
        """Publish to every broker without waiting; a full queue drops the message (the bus is soft state)."""
        try:
            self._pub.send_multipart(stamp(frames, self._id, next(self._seq)), flags=zmq.NOBLOCK)
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
            if msg.src and not self._seen.first(msg.src, msg.seq):
                self.duplicates.inc()
                continue
            if msg.record is not None and msg.kind != "bye" and not self._plausible(msg.record):
                self.dropped.labels(reason="pid").inc()
                continue
            self._heard()
            for prefix, handler in list(self._handlers):
                if msg.topic.startswith(prefix):
                    try:
                        handler(msg)
                    except Exception:
                        self._log.error("bus handler failed", exc_info=True, topic=msg.topic)

    def _plausible(self, rec: InstanceRecord) -> bool:
        """A record from this host names a live process of this user.

        Not asked of `bye`: its sender may have exited by the time it arrives, and a bye only removes.
        """
        if rec.host != self._host:
            return True
        if rec.pid <= 0:
            return False
        try:
            return psutil.Process(rec.pid).uids().real == os.getuid()
        except psutil.Error:
            return False

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pub.close(linger=0)
        self._sub.close(linger=0)
        self._ctx.term()
