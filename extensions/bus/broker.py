"""XSUB (processes publish here) → XPUB (processes subscribe here), CURVE-secured by default.

With CURVE on (`curve_on`: the config holds the keys and bus_curve is not false),
the broker answers ZAP requests itself and admits only the client public keys
it knows: the configured client key and the extra allowed ones. Several brokers
(one per pair of the address lists) share the server key pair and admit the
same client keys, so any one of them serves every process.
"""

from __future__ import annotations

import errno
from typing import Any

import zmq
import zmq.asyncio
from prometheus_client import CollectorRegistry, Counter
from zmq.auth.asyncio import AsyncioAuthenticator

from ocisd.bus.client import curve_on
from ocisd.bus.snapshot import RECORD_TOPICS, Snapshot
from ocisd.config.schema import ConfigError
from ocisd.config.shared import SharedConfig

# Clients drop messages over 64 KiB and count them; the broker only refuses absurd ones.
BROKER_MAX_MESSAGE = 1024 * 1024


class _KnownKeys:
    def __init__(self, keys: set[bytes]) -> None:
        self.keys = keys

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.keys  # pyzmq passes the z85-encoded public key


class Broker:
    def __init__(self, shared: SharedConfig, metrics: CollectorRegistry) -> None:
        self._shared = shared
        self._curve = curve_on(shared)
        if self._curve and not shared.bus_server_secret_key:
            raise ConfigError("bus CURVE needs bus_server_secret_key on the broker's host: run `ocis init`")
        self._ctx = zmq.asyncio.Context()
        self._auth: AsyncioAuthenticator | None = None
        self.xsub = self._ctx.socket(zmq.XSUB)
        self.xpub = self._ctx.socket(zmq.XPUB)
        for sock in (self.xsub, self.xpub):
            sock.linger = 0
            sock.setsockopt(zmq.MAXMSGSIZE, BROKER_MAX_MESSAGE)
            if self._curve:
                sock.curve_server = True
                sock.curve_secretkey = shared.bus_server_secret_key.encode()
        self.snapshot = Snapshot(shared.heartbeat_interval)
        self.forwarded = Counter("ocisd_bus_forwarded_messages", "Messages the broker forwarded.", registry=metrics)

    def bind(self, pub: str, sub: str) -> None:
        """Listen at `pub` (processes publish here) and `sub` (processes subscribe here)."""
        for sock, addr in ((self.xsub, pub), (self.xpub, sub)):
            try:
                sock.bind(addr)
            except zmq.ZMQError as exc:
                code = errno.EADDRINUSE if exc.errno == zmq.EADDRINUSE else exc.errno
                raise OSError(code, f"cannot bind bus address {addr}: {exc.strerror}") from None

    async def start_auth(self) -> None:
        if not self._curve:
            return
        keys = {k.encode() for k in [self._shared.bus_client_public_key, *self._shared.bus_allowed_client_keys] if k}
        self._auth = AsyncioAuthenticator(self._ctx)
        self._auth.start()
        self._auth.configure_curve_callback(domain="*", credentials_provider=_KnownKeys(keys))

    async def forward_messages(self) -> None:
        # The broker itself hears records (for its snapshot) and sync requests, subscribers or not.
        for topic in (*RECORD_TOPICS, b"sync."):
            await self.xsub.send(b"\x01" + topic)
        while True:
            frames: Any = await self.xsub.recv_multipart()
            if frames[0].startswith(b"sync."):
                for answer in self.snapshot.answer(frames):
                    await self.xpub.send_multipart(answer)
                continue
            self.snapshot.note(frames)
            await self.xpub.send_multipart(frames)
            self.forwarded.inc()

    async def forward_subscriptions(self) -> None:
        while True:
            frames: Any = await self.xpub.recv_multipart(copy=False)
            await self.xsub.send_multipart(frames, copy=False)

    def close(self) -> None:
        if self._auth is not None:
            self._auth.stop()
        self.xsub.close(linger=0)
        self.xpub.close(linger=0)
        self._ctx.term()
