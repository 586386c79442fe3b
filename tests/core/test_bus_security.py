"""Forged bus records, as any local process could send them: CURVE keeps them out by default;
on an open bus a forged route leaves with its record and a record naming no live process of ours is ignored."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import zmq

from extensions.hello import Hello
from tests.support import webdav_stack
from tests.support.bus import Trap, forged, publisher, publishing, stranger_keys
from tests.support.harness import Deployment, http_json, metric_value, wait_until
from tests.support.hello_pair import registry
from tests.support.proxy import request, routes

TARGETS = ("hello", "ocdav", "storage-users", "users", "auth-basic")
OPEN = {"OCIS_BUS_CURVE": "false"}
OPEN_WARNING = "the bus is open"


def _attack(trap: Trap, real: list[dict[str, Any]]) -> list[list[bytes]]:
    """Announce, heartbeat and bye for new forged instances, and heartbeats and byes naming the real ones."""
    messages = []
    for name in TARGETS:
        claim = [*Hello.routes, "/remote.php/dav/files/", "/remote.php/dav/files/admin/"]
        messages += [forged(kind, name, trap.addr, routes=claim) for kind in ("announce", "heartbeat")]
    for row in real:
        if row["name"] in TARGETS:
            mine = {"instance": row["instance"], "pid": row["pid"]}
            messages += [forged(kind, row["name"], trap.addr, **mine) for kind in ("heartbeat", "bye")]
    return messages


def _use(dav: webdav_stack.DavStack, proxy: str, n: int) -> None:
    """Greet, log in and move a file through the proxy; every request must succeed."""
    status, _, body = request(proxy, "POST", "/api/v0/greet", b'{"name": "Ada"}', {"Content-Type": "application/json"})
    assert (status, body) == (200, b'{"message": "Hello Ada"}'), (status, body)
    assert dav.request("PROPFIND", "", b"", {"Depth": "0"}).status == 207
    assert dav.request("PUT", f"f{n}.txt", f"file {n}".encode()).status in (201, 204)
    got = dav.request("GET", f"f{n}.txt")
    assert (got.status, got.body) == (200, f"file {n}".encode())


def test_forgers_without_the_key_reach_nothing(dep: Deployment) -> None:
    # The default config: `ocis init` wrote the keys, so CURVE is on. The proxy runs in its own
    # process, so everything it knows about the others came over the bus.
    dep.start_runtime(",".join(n for n in webdav_stack.names(True).split(",") if n != "proxy") + ",hello")
    dep.start_extension("proxy", env={"PROXY_AUTH_CACHE_TTL": "0", "PROXY_ACCESS_LOG": "false"})
    dav = webdav_stack.connect(dep, proxied=True)  # Basic auth, no cache: every request is a login
    proxy = dep.addr("proxy", "http_addr")
    real = registry(dep)
    assert {r["name"] for r in real} >= set(TARGETS)
    trap = Trap()
    ctx = zmq.Context()
    keyless = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"])
    wrong_key = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"], stranger_keys(dep))
    try:
        messages = _attack(trap, real)
        with publishing(keyless, *messages, every=0.05), publishing(wrong_key, *messages, every=0.05):
            deadline, n = time.monotonic() + 6, 0  # several heartbeat intervals and expiry periods
            while time.monotonic() < deadline:
                _use(dav, proxy, n)
                n += 1
        assert n >= 3
        assert trap.hits == 0, "a request reached the forger"
        after = registry(dep)
        assert {(r["name"], r["instance"], r["addresses"].get("http")) for r in after} == {
            (r["name"], r["instance"], r["addresses"].get("http")) for r in real
        }
        instances = dep.metrics("proxy")
        for name in TARGETS:  # the proxy's own registry, fed by the bus alone, lost and gained nothing
            assert metric_value(instances, "ocisd_registry_instances", f'health="ready",name="{name}"') == 1
        _use(dav, proxy, n)
    finally:
        for sock in (keyless, wrong_key):
            sock.close()
        ctx.term()
        trap.close()


def test_forged_route_leaves_with_its_record(dep: Deployment) -> None:
    dep.env.update(OPEN)  # the runtime and every CLI below
    dep.start_runtime("bus,proxy,hello", env={"PROXY_PUBLIC_ROUTES": "/hello/,/forged/"})
    proxy = dep.addr("proxy", "http_addr")
    trap = Trap()
    ctx = zmq.Context()
    pub = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"])
    # An own prefix, one under hello's /hello/, and hello's own (which a forger cannot take).
    record = forged("heartbeat", "forger", trap.addr, routes=["/forged/", "/hello/forged/", "/hello/"])
    try:
        with publishing(pub, record):
            wait_until(lambda: request(proxy, "GET", "/forged/x")[2] == b"forged", what="the forged route served")
            assert request(proxy, "GET", "/hello/forged/x")[2] == b"forged"
            assert {"/forged/", "/hello/forged/"} <= routes(dep).keys()
            assert request(proxy, "GET", "/hello/")[2] != b"forged"
        wait_until(lambda: request(proxy, "GET", "/forged/x")[0] == 404, what="the forged route gone")
        hits = trap.hits
        assert request(proxy, "GET", "/hello/forged/x")[0] not in (200, 503)  # hello's own answer
        assert request(proxy, "GET", "/hello/")[0] == 200
        assert not {"/forged/", "/hello/forged/"} & routes(dep).keys()
        assert trap.hits == hits
    finally:
        pub.close()
        ctx.term()
        trap.close()


def test_record_naming_no_live_process_of_ours_is_ignored(dep: Deployment) -> None:
    dep.env.update(OPEN)
    dep.start_runtime("bus,hello")
    dead = subprocess.Popen(["true"])
    dead.wait()
    # Another user's process: as root, one started as nobody; otherwise init's.
    other = subprocess.Popen(["sleep", "60"], user=65534) if os.getuid() == 0 else None
    trap = Trap()
    ctx = zmq.Context()
    pub = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"])
    liars = [
        forged("heartbeat", "hello", trap.addr, instance="dead-pid", pid=dead.pid),
        forged("heartbeat", "hello", trap.addr, instance="other-user", pid=other.pid if other else 1),
    ]
    control = forged("heartbeat", "forger", trap.addr)  # this test's own live PID: accepted
    try:
        with publishing(pub, *liars, control):
            wait_until(lambda: "forger" in {r["name"] for r in registry(dep)}, what="the control record")
            drops = 'reason="pid"'
            wait_until(
                lambda: metric_value(dep.metrics("hello"), "ocisd_bus_dropped_messages_total", drops) >= 2,
                what="the liars counted",
            )
            assert not {"dead-pid", "other-user"} & {r["instance"] for r in registry(dep)}
            assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Ada"}) == (200, {"message": "Hello Ada"})
        assert trap.hits == 0
    finally:
        if other is not None:
            other.kill()
            other.wait()
        pub.close()
        ctx.term()
        trap.close()


def _open_warnings(text: str) -> int:
    return sum(OPEN_WARNING in line for line in text.splitlines())


def test_open_bus_warns_once_per_process(dep: Deployment) -> None:
    runtime = dep.start_runtime("bus,hello,gateway", env=OPEN)
    own = dep.start_extension("users", env=OPEN)
    assert _open_warnings(runtime.output()) == 1
    assert _open_warnings(own.output()) == 1
    assert 'reason="bus_curve is false"' in runtime.output()
    runtime.stop()
    own.stop()
    quiet = dep.start_runtime("bus,hello")  # the default config: CURVE, no warning
    assert _open_warnings(quiet.output()) == 0


def test_curve_asked_for_without_keys_is_refused(dep: Deployment) -> None:
    main = dep.config_dir / "ocis.toml"
    main.write_text("".join(line + "\n" for line in main.read_text().splitlines() if not line.startswith("bus_")))
    for args in (("server",), ("hello", "server")):
        res = dep.ocis(*args, env={"OCIS_RUN_EXTENSIONS": "bus,hello", "OCIS_BUS_CURVE": "true"}, timeout=30)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.strip().splitlines()
        assert (
            len(lines) == 1
            and "env OCIS_BUS_CURVE: bus_curve is true but the config holds no bus CURVE keys" in lines[0]
        )
    # Not asked for explicitly: an open bus, with the warning.
    runtime = dep.start_runtime("bus,hello")
    assert _open_warnings(runtime.output()) == 1
    assert "no bus CURVE keys" in runtime.output()
