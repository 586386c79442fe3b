"""Plain pyzmq publishers on the bus, as a stranger or a client with the configured key would be."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import zmq

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
