"""The bus is no single point of failure: a silent broker keeps every registry, a second broker
stands in for a lost one. Every extension runs in its own process under supervisord
(`ocisd.orchestrate.deployment`); greets and WebDAV file work go through the proxy all along."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import zmq

from ocisd.discovery import BUS
from ocisd.orchestrate.check import Checker, Report, Result, deployment
from ocisd.orchestrate.deployment import SECOND_BROKER, TempDeployment
from ocisd.orchestrate.faults import named
from tests.support import sets
from tests.support.bus import forged, publisher, publishing
from tests.support.bus_outage import answers, start_hello, stop_all
from tests.support.harness import BIN, http_get, metric_value, wait_until

HEARTBEAT = 1.0  # OCIS_HEARTBEAT_INTERVAL's default, which the deployments keep
OUTAGE = 30.0
READY = 'health="ready",name="hello"'
SECOND_PROGRAM = f"ocis-{SECOND_BROKER}"


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` (blocking, so in a thread) until true; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.05)


class Bus:
    """A temp deployment seen through each extension process's /metrics, plus extra hello instances."""

    def __init__(self, dep: TempDeployment) -> None:
        self.dep = dep
        self.hellos: list[subprocess.Popen[bytes]] = []
        self.debug = {n: dep.addr(n, "debug_addr") for n in dep.extensions}

    def metrics(self, name: str) -> str:
        return http_get(f"http://{self.debug[name]}/metrics", timeout=2)[1].decode()

    def value(self, name: str, metric: str, labels: str = "") -> float:
        return metric_value(self.metrics(name), metric, labels)

    def fresh_hellos(self, name: str) -> int:
        """Ready hello instances in `name`'s registry heard lately (not stale)."""
        text = self.metrics(name)
        stale = metric_value(text, "ocisd_registry_stale_instances", 'name="hello"')
        return int(metric_value(text, "ocisd_registry_instances", READY) - stale)

    def everywhere(self, check: Callable[[str], bool]) -> bool:
        return all(check(n) for n in self.debug)

    def start_hello(self) -> None:
        self.hellos.append(start_hello(self.dep.env)[0])

    def close(self) -> None:
        stop_all(self.hellos)


@asynccontextmanager
async def deployed(brokers: int) -> AsyncIterator[tuple[Bus, Checker]]:
    """`ocis orchestrate check`'s deployment and checker (greets and WebDAV file work through the
    proxy, a request at least every 0.2 s each), with one more hello in every registry."""
    async with deployment("supervisor", brokers, seed=3, say=lambda _: None, extensions=sets.ORCHESTRATE) as checker:
        bus = Bus(checker.dep)
        try:
            await until(lambda: bus.everywhere(lambda n: bus.fresh_hellos(n) == 1), 30, "hello in every registry")
            await asyncio.to_thread(bus.start_hello)
            await until(lambda: bus.everywhere(lambda n: bus.fresh_hellos(n) == 2), 15, "two hellos everywhere")
            yield bus, checker
        finally:
            await asyncio.to_thread(bus.close)


def passed(report: Report, results: list[Result]) -> None:
    """The orchestrate check passed: recovered, nothing lost, no request failed from the fault on."""
    assert report.ok and len(results) == 1, results
    assert report.tried > 0 and results[0].failed == 0, results


async def only_broker_outage() -> None:
    async with deployed(brokers=1) as (bus, checker):
        dep, doomed = bus.dep, bus.hellos[0]
        results: list[Result] = []
        # SIGSTOP of the broker for 30 s, then SIGKILL; supervisord restarts it.
        check = asyncio.get_running_loop().create_task(
            checker.run([named(f"bus-outage {OUTAGE:g}s")], None, results.append)
        )
        # Silence is not death: every remote instance is kept, marked stale, still used.
        await until(lambda: bus.value("proxy", "ocisd_bus_connected") == 0, 30, "the proxy notices the silence")
        broker = await asyncio.to_thread(dep.pid_of, BUS)
        text = bus.metrics("proxy")
        assert metric_value(text, "ocisd_registry_instances", READY) == 2
        assert metric_value(text, "ocisd_registry_stale_instances", 'name="hello"') == 2

        # Direct evidence still counts: refused connections drop the killed instance.
        doomed.kill()
        doomed.wait()
        await until(lambda: bus.value("proxy", "ocisd_registry_instances", READY) == 1, 10, "killed hello dropped")
        assert bus.value("proxy", "ocisd_bus_connected") == 0, "the bus came back too early for this check"
        await asyncio.to_thread(bus.start_hello)  # started during the outage

        def broker_back() -> bool:
            pid = dep.pid_of(BUS)
            return pid not in (0, broker) and answers(f"http://{bus.debug[BUS]}/readyz")

        await until(broker_back, OUTAGE + 30, "supervisord restarted the broker")
        # The new instance and the surviving one, heard again: in every registry within two heartbeats.
        await until(
            lambda: bus.everywhere(lambda n: bus.fresh_hellos(n) == 2),
            2 * HEARTBEAT,
            "the hello started during the outage in every registry",
        )
        assert bus.everywhere(lambda n: bus.value(n, "ocisd_bus_connected") == 1)
        # After the grace of two heartbeats, the killed one expires everywhere.
        await until(
            lambda: bus.everywhere(lambda n: bus.value(n, "ocisd_registry_instances", READY) == 2),
            4 * HEARTBEAT,
            "the killed hello expired everywhere",
        )
        passed(await check, results)


def test_only_broker_stopped_30s_then_killed_and_restarted() -> None:
    """SIGSTOP of the only broker for 30 s, then SIGKILL and supervisord's restart: no greet or
    WebDAV request fails, an instance killed meanwhile stops being used once its connections are
    refused, one started meanwhile is in every registry within two heartbeats of the broker's return."""
    asyncio.run(only_broker_outage())


def second_broker_admits_only_the_client_key(bus: Bus) -> None:
    """CURVE across all brokers: the second admits the client key `ocis init` wrote, and no other."""
    cfg = tomllib.loads((Path(bus.dep.env["OCIS_CONFIG_DIR"]) / "ocis.toml").read_text())
    server = cfg["bus_server_public_key"].encode()
    trusted = (server, cfg["bus_client_public_key"].encode(), cfg["bus_client_secret_key"].encode())
    stranger = (server, *zmq.curve_keypair())
    second = bus.dep.env["OCIS_BUS_PUB_ADDR"].split(",")[1]
    ctx = zmq.Context()
    ours, theirs = publisher(ctx, second, trusted), publisher(ctx, second, stranger)
    try:
        with publishing(ours, forged("heartbeat", "probe", "127.0.0.1:9")):
            with publishing(theirs, forged("heartbeat", "intruder", "127.0.0.1:9")):
                wait_until(
                    lambda: bus.value("proxy", "ocisd_registry_instances", 'health="ready",name="probe"') == 1,
                    10,
                    what="a record through the second broker",
                )
                assert bus.value("proxy", "ocisd_registry_instances", 'health="ready",name="intruder"') == 0
    finally:
        ours.close()
        theirs.close()
        ctx.term()


async def two_brokers_one_lost() -> None:
    async with deployed(brokers=2) as (bus, checker):
        dep = bus.dep
        # Every message comes through both brokers and is handled once.
        assert bus.value("proxy", "ocisd_bus_duplicate_messages_total") > 0
        await asyncio.to_thread(second_broker_admits_only_the_client_key, bus)
        results: list[Result] = []
        passed(await checker.run([named("broker-kill")], None, results.append), results)  # the second, for good
        await until(
            lambda: {p["name"]: p["state"] for p in dep.supervisor.status()}[SECOND_PROGRAM] == "STOPPED",
            30,
            "the killed broker left stopped",
        )

        await asyncio.to_thread(bus.start_hello)
        await until(lambda: bus.everywhere(lambda n: bus.fresh_hellos(n) == 3), 10, "the new hello discovered")
        assert bus.everywhere(lambda n: bus.value(n, "ocisd_bus_connected") == 1)
        res = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "ocis"), "registry", "--json"],
            env=dep.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        rows = json.loads(res.stdout)
        instances = [r["instance"] for r in rows]
        assert len(instances) == len(set(instances)), res.stdout
        assert [r["name"] for r in rows].count("hello") == 3 and not any(r["stale"] for r in rows), res.stdout

        # The lost broker rejoins with nothing else restarted: messages come through both again.
        before = bus.value("proxy", "ocisd_bus_duplicate_messages_total")
        await asyncio.to_thread(dep.supervisor.call, "supervisor.startProcess", f"ocis:{SECOND_PROGRAM}", True)
        await until(
            lambda: bus.value("proxy", "ocisd_bus_duplicate_messages_total") > before + 5, 15, "the broker rejoined"
        )


def test_two_brokers_one_killed_for_good() -> None:
    """Two brokers, one SIGKILLed for good: a new instance is discovered as usual, no request fails,
    the registry shows each instance once; restarted, the broker rejoins."""
    asyncio.run(two_brokers_one_lost())
