"""The live registry: announce/heartbeat/bye between processes, expiry, and healing after a broker restart."""

from __future__ import annotations

import signal
import time

from tests.support.harness import Deployment, http_json, wait_until
from tests.support.hello_pair import local_view, registry, start_pair, wait_local_view

# The bound: an instance that stops heartbeating leaves every registry within 3.5 s.
EXPIRY_BOUND = 3.5


def _hello_pids(dep: Deployment) -> set[int]:
    return {r["pid"] for r in registry(dep) if r["name"] == "hello" and r["health"] == "ready"}


def test_runtime_and_outside_instance_both_listed(dep: Deployment) -> None:
    rt, outside, env = start_pair(dep)
    rows = registry(dep)
    assert all(set(r) == {"name", "instance", "host", "pid", "addresses", "health", "age"} for r in rows)
    hellos = [r for r in rows if r["name"] == "hello"]
    assert {r["pid"] for r in hellos} == {rt.pid, outside.pid}
    assert {r["addresses"]["grpc"] for r in hellos} == {dep.addr("hello", "grpc_addr"), env["HELLO_GRPC_ADDR"]}
    assert all(r["health"] == "ready" and r["age"] >= 0 for r in hellos)
    assert [r["pid"] for r in rows if r["name"] == "bus"] == [rt.pid]

    table = dep.ocis("registry")
    assert table.returncode == 0, table.stderr
    assert table.stdout.split()[:7] == ["NAME", "INSTANCE", "HOST", "PID", "ADDRESSES", "HEALTH", "AGE"]
    assert str(outside.pid) in table.stdout


def test_registry_without_bus_says_so(dep: Deployment) -> None:
    res = dep.ocis("registry", "--json")
    assert res.returncode == 1
    assert res.stdout.strip() == "[]"
    assert "no instance heard on the bus" in res.stderr


def test_sigkill_leaves_registry_and_greets_keep_succeeding(dep: Deployment) -> None:
    _, outside, _ = start_pair(dep)
    outside.signal(signal.SIGKILL)
    killed = time.monotonic()
    greet = dep.url("hello", path="/api/v0/greet")
    # Calls routed to the dead instance are retried on the live one until it expires.
    while local_view(dep, "hello") != 1:
        assert time.monotonic() - killed < EXPIRY_BOUND, "killed instance still in the runtime's registry"
        assert http_json(greet, {"name": "during"}) == (200, {"message": "Hello during"})
    for i in range(10):
        assert http_json(greet, {"name": f"after{i}"}) == (200, {"message": f"Hello after{i}"})
    assert outside.pid not in _hello_pids(dep)


def test_sigstop_expires_and_sigcont_returns(dep: Deployment) -> None:
    rt, outside, _ = start_pair(dep)
    outside.signal(signal.SIGSTOP)
    try:
        wait_local_view(dep, "hello", 1, timeout=EXPIRY_BOUND)
        assert _hello_pids(dep) == {rt.pid}
    finally:
        outside.signal(signal.SIGCONT)
    wait_local_view(dep, "hello", 2)
    assert _hello_pids(dep) == {rt.pid, outside.pid}


def test_broker_restart_heals_without_restarting_extensions(dep: Deployment) -> None:
    broker = dep.start_extension("bus")
    rt, outside, env = start_pair(dep, runtime="hello")
    before = {(r["name"], r["instance"], r["pid"]) for r in registry(dep)}
    assert {n for n, _, _ in before} == {"bus", "hello"} and len(before) == 3

    broker.kill()
    # With no broker, the runtime's registry loses the outside instance: the bus was really down.
    wait_local_view(dep, "hello", 1, timeout=15)
    broker = dep.start_extension("bus")
    # The bound: every registry is whole again within two heartbeats (1 s each) of the broker's return.
    heal_bound = 2 * 1.0
    wait_until(
        lambda: local_view(dep, "hello") == 2 and local_view(dep, "hello", env) == 2,
        heal_bound,
        what="registries healed",
    )
    after = {(r["name"], r["instance"], r["pid"]) for r in registry(dep)}
    hellos = {x for x in before if x[0] == "hello"}
    assert hellos <= after, "a hello instance changed: something restarted"
    assert rt.alive() and outside.alive() and outside.pid in {p for _, _, p in after}
    assert [r["restarts"] for r in dep.runtime_list() if r["name"] == "hello"] == [0]
