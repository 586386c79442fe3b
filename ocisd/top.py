"""What `ocis top` shows: every live instance on the bus with its process's CPU and memory.

Instances on this host are measured with psutil; a PID is trusted only when its
process started no later than the instance did (a reused PID belongs to someone
else). Instances on other hosts show what their heartbeat carries. An instance
kept while the bus is silent, not heard lately, is marked stale.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil

from ocisd.bus.messages import InstanceRecord
from ocisd.config.shared import SharedConfig
from ocisd.node import Node

CLOCK_SLACK = 1.0  # seconds between a process's creation time and `started`, both from the wall clock
JOIN_AT_MOST = 3.0
CPU_WINDOW = 0.5  # `--once` measures CPU % over this long


@dataclass
class Row:
    name: str
    instance: str
    host: str
    pid: int
    cpu_percent: float | None
    rss: int | None
    uss: int | None
    health: str
    restarts: int
    uptime: float
    source: str  # "local" (psutil) or "heartbeat"
    stale: bool = False  # not heard lately: kept because the bus is (or just was) silent
    address: str = ""  # the host's address peers dial (the record's `address`), beside its name


class Sampler:
    """psutil processes kept across refreshes, so CPU % covers the time between two of them."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def process(self, rec: InstanceRecord) -> psutil.Process | None:
        proc = self._procs.get(rec.pid)
        try:
            if proc is None or not proc.is_running():
                proc = psutil.Process(rec.pid)
                proc.cpu_percent(None)  # the first call only sets the starting point
                self._procs[rec.pid] = proc
            if proc.create_time() > rec.started + CLOCK_SLACK:
                return None  # the PID was reused after the instance died
            return proc
        except psutil.Error:
            return None

    def measure(self, records: list[InstanceRecord], host: str) -> list[Row]:
        """One row per record; every PID measured once, shared by the instances a runtime holds."""
        seen: dict[int, tuple[float, int, int | None]] = {}
        rows = []
        now = time.time()
        for rec in records:
            proc = self.process(rec) if rec.host == host else None
            cpu: float | None = rec.stats.get("cpu")
            rss: int | None = int(rec.stats["rss"]) if "rss" in rec.stats else None
            uss: int | None = None
            source = "heartbeat"
            if proc is not None:
                try:
                    if rec.pid not in seen:
                        with proc.oneshot():
                            mem = proc.memory_full_info()
                            seen[rec.pid] = (proc.cpu_percent(None), mem.rss, getattr(mem, "uss", None))
                    cpu, rss, uss = seen[rec.pid]
                    source = "local"
                except psutil.Error:
                    pass
            uptime = round(now - rec.started, 1) if rec.started else 0.0
            row = Row(
                rec.name, rec.instance, rec.host, rec.pid, cpu, rss, uss, rec.health, rec.restarts, uptime, source
            )
            row.address = rec.address
            rows.append(row)
        return rows


class Watcher:
    """A node on the bus whose registry follows every instance while `ocis top` runs."""

    def __init__(self, shared: SharedConfig) -> None:
        self.node = Node(shared)
        self.sampler = Sampler()

    async def __aenter__(self) -> Watcher:
        await self.node.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.node.close()

    async def settle(self) -> None:
        """Wait until every instance had the chance to send one heartbeat (at most JOIN_AT_MOST)."""
        interval = float(self.node.shared.heartbeat_interval)
        start = time.monotonic()
        first: float | None = None
        while (now := time.monotonic()) < start + JOIN_AT_MOST:
            if first is None and self.node.registry.entries():
                first = now
            if first is not None and now - first >= interval * 1.2:
                return
            await asyncio.sleep(0.05)

    def rows(self) -> list[Row]:
        registry = self.node.registry
        entries = registry.entries()
        rows = self.sampler.measure([e.record for e in entries], self.node.host)
        stale = {e.record.instance for e in entries if registry.stale(e)}
        for row in rows:
            row.stale = row.instance in stale
        return sorted(rows, key=lambda r: (r.host, r.name, r.pid, r.instance))


async def snapshot(shared: SharedConfig) -> list[dict[str, Any]]:
    """Every live instance, measured over the time it takes to hear them all (for `--once`)."""
    async with Watcher(shared) as watcher:
        await watcher.settle()
        watcher.rows()  # sets each process's CPU starting point
        await asyncio.sleep(CPU_WINDOW)
        return [asdict(r) for r in watcher.rows()]
