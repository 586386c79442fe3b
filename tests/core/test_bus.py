"""The bus: bad input is dropped and counted, CURVE keeps strangers out, events reach subscribers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import zmq
from prometheus_client import CollectorRegistry

from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from tests.support.bus import configured_keys, publisher, publishing, stranger_keys
from tests.support.harness import Deployment, http_json, metric_value, wait_until
from tests.support.hello_pair import eventually, registry

DROPPED = "ocisd_bus_dropped_messages_total"


def _record(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "instance": f"{name}-1",
        "host": "elsewhere",
        "pid": 1,
        "started": time.time(),
        "addresses": {},
        "version": "0",
        "health": "ready",
        "restarts": 0,
        "routes": [],
    }


def _heartbeat(name: str, version: int = 1) -> list[bytes]:
    payload = {"v": version, "kind": "heartbeat", "record": _record(name)}
    return [f"heartbeat.{name}".encode(), json.dumps(payload).encode()]


def _stamped(name: str, stamp: dict[str, Any]) -> list[bytes]:
    payload = {"v": 1, "kind": "heartbeat", "record": _record(name), **stamp}
    return [f"heartbeat.{name}".encode(), json.dumps(payload).encode()]


def test_bad_messages_are_dropped_and_counted(dep: Deployment) -> None:
    dep.start_runtime("bus,hello")
    bad = {
        "malformed": [
            [b"heartbeat.hello", b"{not json"],
            [b"heartbeat.hello"],
            [b"heartbeat.hello", b"{}", b"third frame"],
            [b"heartbeat.hello", json.dumps({"v": 1, "kind": "heartbeat", "record": {"name": 5}}).encode()],
            # A well-formed record with a bad de-duplication stamp (sender id, sequence number).
            *(_stamped("hello", stamp) for stamp in ({"src": "../x", "seq": 1}, {"src": "a", "seq": -1}, {"src": "a"})),
        ],
        "oversized": [[b"heartbeat.hello", json.dumps({"v": 1, "pad": "x" * 70_000}).encode()]],
        "version": [_heartbeat("hello", version=99)],
    }
    ctx = zmq.Context()
    pub = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"], configured_keys(dep))  # a trusted client sending garbage
    try:

        def all_counted() -> bool:
            for frames in (f for group in bad.values() for f in group):
                pub.send_multipart(frames)
            text = dep.metrics("hello")
            return all(metric_value(text, DROPPED, f'reason="{r}"') >= 1 for r in bad)

        wait_until(all_counted, what="every kind of bad message counted")
    finally:
        pub.close()
        ctx.term()
    assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Ada"}) == (200, {"message": "Hello Ada"})
    assert {(r["name"], r["state"], r["restarts"]) for r in dep.runtime_list()} == {
        ("bus", "running", 0),
        ("hello", "running", 0),
    }
    assert "elsewhere" not in {r["host"] for r in registry(dep)}, "a dropped record reached the registry"


def test_curve_unknown_key_sees_nothing_and_cannot_publish(dep: Deployment) -> None:
    dep.start_runtime("bus,hello")  # the default config: CURVE with the keys `ocis init` wrote
    known, stranger = configured_keys(dep), stranger_keys(dep)

    assert "hello" in {r["name"] for r in registry(dep)}, "a client with the configured key hears the bus"

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.curve_serverkey, sub.curve_publickey, sub.curve_secretkey = stranger
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(dep.env["OCIS_BUS_SUB_ADDR"])
    intruder = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"], stranger)
    friend = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"], known)
    try:
        # Two heartbeat intervals of listening with the unknown key hear nothing.
        assert sub.poll(2500) == 0
        with publishing(intruder, _heartbeat("intruder")):
            assert "intruder" not in {r["name"] for r in registry(dep)}
        # The same message with the configured key does arrive: the check above could have failed.
        with publishing(friend, _heartbeat("friend")):
            wait_until(lambda: "friend" in {r["name"] for r in registry(dep)}, what="the configured key's message")
    finally:
        for sock in (sub, intruder, friend):
            sock.close()
        ctx.term()


def test_events_reach_subscribers_through_the_broker(dep: Deployment) -> None:
    dep.start_runtime("bus")
    shared = loader.load(None, None, installed(), dep.env).shared

    async def ring() -> list[tuple[str, dict[str, Any]]]:
        sender, listener = BusClient(shared, CollectorRegistry()), BusClient(shared, CollectorRegistry())
        heard: list[tuple[str, dict[str, Any]]] = []
        listener.subscribe("event.upload-finished", lambda m: heard.append((m.event, m.data)))
        sender.start()
        listener.start()
        try:
            # The first messages may go out before the subscription reached the broker: ring until heard.
            def ring_both() -> bool:
                sender.publish_event("scan-done", {"node": "n1"})  # not subscribed: never heard
                sender.publish_event("upload-finished", {"node": "n1"})
                return bool(heard)

            await eventually(ring_both)
            return heard
        finally:
            await sender.close()
            await listener.close()

    heard = asyncio.run(asyncio.wait_for(ring(), 30))
    assert heard[0] == ("upload-finished", {"node": "n1"})
    assert all(event == "upload-finished" for event, _ in heard)


def test_broker_lists_are_checked_and_generators_place_a_broker_per_host(bare: Deployment, tmp_path: Path) -> None:
    """OCIS_BUS_PUB_ADDR/OCIS_BUS_SUB_ADDR: comma-separated, each an address, paired; `--broker N`
    makes this host's broker bind pair N (supervisord's ocis-bus, systemd's drop-in)."""
    two = {
        "OCIS_BUS_PUB_ADDR": "tcp://10.0.0.1:9233, tcp://10.0.0.2:9233",
        "OCIS_BUS_SUB_ADDR": "tcp://10.0.0.1:9234,tcp://10.0.0.2:9234",
    }
    for env, said in (
        ({**two, "OCIS_BUS_SUB_ADDR": "tcp://10.0.0.1:9234"}, "the lists pair up"),
        ({**two, "OCIS_BUS_PUB_ADDR": "tcp://10.0.0.1:9233,10.0.0.2:9233"}, "'10.0.0.2:9233' is not a bus address"),
        ({**two, "OCIS_BUS_PUB_ADDR": "tcp://10.0.0.1:9234,tcp://10.0.0.2:9233"}, "name an address twice"),
    ):
        res = bare.ocis("registry", env=env)
        assert res.returncode == 2 and said in res.stderr, res.stderr

    sup = tmp_path / "sup"
    res = bare.ocis("supervisor", "generate", "--extensions", "bus,hello", "--broker", "1", "--dir", str(sup), env=two)
    assert res.returncode == 0, res.stderr
    bus = (sup / "supervisord.conf").read_text().split("[program:ocis-bus]")[1].split("[program:")[0]
    assert 'BUS_BROKER="1"' in bus and "tcp://10.0.0.1:9233, tcp://10.0.0.2:9233" in bus
    res = bare.ocis("supervisor", "generate", "--broker", "2", "--dir", str(sup), env=two)
    assert res.returncode == 1 and "name 2 brokers" in res.stderr, res.stderr

    units = tmp_path / "units"
    res = bare.ocis("systemd", "generate", "--user", "--broker", "1", "--dir", str(units), env=two)
    assert res.returncode == 0, res.stderr
    assert "Environment=BUS_BROKER=1" in (units / "ocisd@bus.service.d" / "broker.conf").read_text()
    res = bare.ocis("systemd", "generate", "--user", "--broker", "1", "--dir", str(units))
    assert res.returncode == 2 and "name 1 brokers" in res.stderr, res.stderr
