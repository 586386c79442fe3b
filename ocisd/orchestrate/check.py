"""Run a workload against a temp deployment while injecting faults; measure each recovery.

An extension has recovered when the bus registry again holds a ready
instance of every extension whose process lives and which sent a heartbeat
after the fault, and the workload has succeeded again with a request started
after it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import psutil

from ocisd.config import loader
from ocisd.discovery import installed, selection
from ocisd.node import Node
from ocisd.orchestrate.deployment import ADMIN, ADMIN_PASSWORD, TempDeployment
from ocisd.orchestrate.faults import BUS_FAULTS, Fault, inject
from ocisd.orchestrate.files import Files
from ocisd.orchestrate.workload import Greets, Mix

RECOVERY_LIMIT = 10.0  # an extension not healthy again this long after a fault fails the check
SETTLE_LIMIT = 30.0  # first start, and supervisord's RUNNING before each fault
POLL = 0.02


@dataclass
class Result:
    fault: Fault
    at: float  # seconds since the workload started
    registry: float | None  # seconds from the fault's end until the registry was healthy
    workload: float | None  # ... until the workload succeeded again
    failed: int  # requests that failed from the fault's start until recovery
    failed_safe: int = 0  # ... of them idempotent (GET, PROPFIND, ...)
    pause: float = 0.0  # the longest time in that window no request succeeded
    diagnosis: str = ""  # for a fault not recovered from: the program's state and log tail

    @property
    def recovered(self) -> bool:
        return self.registry is not None and self.workload is not None


@dataclass
class Report:
    mode: str
    results: list[Result] = field(default_factory=list)
    tried: int = 0
    failed: int = 0
    acknowledged: int = 0  # uploads the server answered 201/204
    lost: int = 0

    @property
    def ok(self) -> bool:
        """Nothing acknowledged lost, every fault recovered from, and the bus's faults cost no request."""
        bus_failed = sum(r.failed for r in self.results if r.fault.kind in BUS_FAULTS)
        return self.lost == 0 and bus_failed == 0 and all(r.recovered for r in self.results)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_STOPPED, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


class Checker:
    def __init__(self, dep: TempDeployment, node: Node, workload: Mix) -> None:
        self.dep = dep
        self.node = node
        self.workload = workload

    def registry_healthy(self, since: float) -> bool:
        for name in self.dep.extensions:
            if not any(
                e.record.health == "ready" and e.last_seen >= since and _alive(e.record.pid)
                for e in self.node.registry.entries(name)
            ):
                return False
        return True

    async def recover(self, since: float, limit: float) -> tuple[float | None, float | None]:
        """Seconds from `since` until the registry and the workload were healthy (None: not within `limit`)."""
        registry: float | None = None
        deadline = since + limit
        while time.monotonic() < deadline:
            if registry is None and self.registry_healthy(since):
                registry = time.monotonic() - since
            served = self.workload.ok_since(since)
            if registry is not None and served is not None:
                return registry, served - since
            await asyncio.sleep(POLL)
        served = self.workload.ok_since(since)
        return registry, None if served is None else served - since

    async def settle(self) -> None:
        """Before a fault: every program RUNNING for supervisord, so no fault lands mid-start."""
        deadline = time.monotonic() + SETTLE_LIMIT
        while not await asyncio.to_thread(self.dep.all_running):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)

    async def run(self, faults: Sequence[Fault], duration: float | None, report: Callable[[Result], None]) -> Report:
        out = Report(self.dep.mode)
        stop = asyncio.Event()
        work = asyncio.get_running_loop().create_task(self.workload.run(stop))
        try:
            start = time.monotonic()
            first = await self.recover(start, SETTLE_LIMIT)
            if None in first:
                raise RuntimeError(f"the deployment did not become healthy within {SETTLE_LIMIT:.0f} s")
            for fault in faults:
                await asyncio.sleep(fault.gap)
                await self.settle()
                if duration is not None and time.monotonic() - start >= duration:
                    break
                began, resumed = await inject(self.dep, fault)
                registry, workload = await self.recover(resumed, RECOVERY_LIMIT)
                end = resumed + max(RECOVERY_LIMIT if t is None else t for t in (registry, workload))
                failed = self.workload.failed_between(began, end)
                safe = self.workload.failed_between(began, end, safe_only=True)
                pause = self.workload.longest_pause(began, end)
                result = Result(fault, began - start, registry, workload, failed, safe, pause)
                if not result.recovered:
                    result.diagnosis = await asyncio.to_thread(self.dep.diagnose, fault.extension)
                out.results.append(result)
                report(result)
        finally:
            stop.set()
            await work
        out.tried = len(self.workload.attempts)
        out.failed = sum(1 for a in self.workload.attempts if not a.ok)
        out.acknowledged = self.workload.acknowledged
        out.lost = await self.workload.lost()
        return out


# What the workload (greets and WebDAV file work as the admin, through the proxy) needs deployed.
WORKLOAD = ("proxy", "hello", "ocdav", "gateway", "storage-users", "users", "groups", "auth-basic")


def deployed() -> list[str]:
    """The extensions a check deploys: the selection `ocis server` makes from this environment
    (OCIS_RUN_EXTENSIONS or every non-optional one, plus OCIS_ADD_RUN_EXTENSIONS, minus
    OCIS_EXCLUDE_RUN_EXTENSIONS); ValueError when the workload could not run on it."""
    names = selection()
    missing = [n for n in WORKLOAD if n not in names]
    if missing:
        raise ValueError(f"the workload needs {', '.join(missing)} in the deployment (OCIS_RUN_EXTENSIONS)")
    return names


@asynccontextmanager
async def deployment(
    mode: str,
    brokers: int = 1,
    seed: int = 1,
    say: Callable[[str], None] = print,
    extensions: Sequence[str] | None = None,
) -> AsyncIterator[Checker]:
    """A started temp deployment of `extensions` (default: what `ocis server` would run here, see
    `deployed()`) in `mode` (with `brokers` bus brokers) and its checker, greets and files as the
    workload; everything cleaned up after."""
    dep = TempDeployment(mode, deployed() if extensions is None else extensions, brokers)
    say(f"deployment in {dep.root}")
    try:
        await asyncio.to_thread(dep.start)
        node = Node(loader.load(None, None, installed(), dep.env).shared)
        await node.start(snapshot=True)
        try:
            front = f"https://{dep.addr('proxy', 'http_addr')}"
            greets = Greets(f"{front}/api/v0/greet")
            files = Files(front, ADMIN, ADMIN_PASSWORD, seed)
            yield Checker(dep, node, Mix([greets, files]))
        finally:
            await node.close()
    finally:
        await asyncio.to_thread(dep.close)


async def run_check(
    mode: str,
    faults: Sequence[Fault],
    duration: float | None,
    report: Callable[[Result], None],
    seed: int = 1,
    say: Callable[[str], None] = print,
    brokers: int = 1,
) -> Report:
    """Run greets and files under `faults` against a fresh `deployment`."""
    async with deployment(mode, brokers, seed, say) as checker:
        return await checker.run(faults, duration, report)
