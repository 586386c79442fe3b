"""Plain pyzmq publishers on the bus, as a stranger or a client with the configured key would be."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import zmq

from ocisd.bus.messages import InstanceRecord, encode_record
from tests.support.harness import Deployment

Keys = tuple[bytes, bytes, bytes]  # (server public, client public, client secret)


def configured_keys(dep: Deployment) -> Keys:
    """The CURVE keys `ocis init` wrote: a publisher with these is a trusted client."""
    cfg = tomllib.loads((dep.config_dir / "ocis.toml").read_text())
    return (
        cfg["bus_server_public_key"].encode(),
        cfg["bus_client_public_key"].encode(),
        cfg["bus_client_secret_key"].encode(),
    )


def stranger_keys(dep: Deployment) -> Keys:
    """A fresh client key pair the broker has never heard of."""
    public, secret = zmq.curve_keypair()
    return (configured_keys(dep)[0], public, secret)


def publisher(ctx: zmq.Context[Any], addr: str, keys: Keys | None = None) -> zmq.Socket[Any]:
    sock = ctx.socket(zmq.PUB)
    sock.linger = 0
    if keys is not None:
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = keys
    sock.connect(addr)
    return sock


@contextmanager
def publishing(sock: zmq.Socket[Any], *messages: list[bytes], every: float = 0.1) -> Iterator[None]:
    """Send each of `messages` every `every` s from a thread (the socket's only user) while the block runs."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every):
            for frames in messages:
                sock.send_multipart(frames)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class Trap(socketserver.ThreadingTCPServer):
    """The forger's listener: counts every connection and answers HTTP 200 `forged` to anything."""

    daemon_threads = True

    def __init__(self) -> None:
        self.hits = 0
        super().__init__(("127.0.0.1", 0), _TrapHandler)
        self.addr = f"127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _TrapHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, Trap)
        self.server.hits += 1
        self.request.settimeout(1)
        try:
            self.request.recv(65536)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nforged")
        except OSError:
            pass


def forged(
    kind: str, name: str, addr: str, *, instance: str = "", pid: int = 0, routes: list[str] | None = None
) -> list[bytes]:
    """A `kind` record for `name` on this host, every address pointing at `addr` (by default: this test's PID)."""
    rec = InstanceRecord(
        name=name,
        instance=instance or f"forged-{name}",
        host=socket.gethostname(),
        pid=pid or os.getpid(),
        started=0,  # the oldest: first in every ordering by start time
        addresses={"http": addr, "grpc": addr, "debug": addr},
        health="ready",
        routes=routes or [],
    )
    return encode_record(kind, rec)
