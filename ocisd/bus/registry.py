"""The live registry of extension instances, rebuilt from bus messages.

Soft state: an instance is known while its heartbeats arrive, dropped on `bye`
at once and after three missed heartbeats otherwise. Instances running in this
very process are also put in directly, so a runtime finds its own extensions
even while the broker is down.

The silence of the bus is not the death of the instances. The process hears the
bus while any message (its own pings included) arrived within 1.5 heartbeats;
while it does not (every broker down, or this process was stopped) nothing
expires: every remote instance is kept, marked stale, and still used. Only
direct evidence drops one meanwhile: its connection refused (`refused`) or the
proxy's cool-down (`drop`). Once the bus is heard again, expiry resumes after a
grace of two heartbeats, time enough for every live instance to be heard again;
while it is heard, heartbeats, `bye` and expiry alone decide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric

from ocisd.bus.messages import InstanceRecord, Message

Listener = Callable[[str, InstanceRecord], None]  # ("added"|"updated"|"removed", record)

MISSED_HEARTBEATS = 3
SILENCE = 1.5  # heartbeat intervals without any message: the bus is silent, not the instances
GRACE = 2  # heartbeat intervals after the bus is heard again before instances expire again
EXPIRY_CHECKS_PER_HEARTBEAT = 10  # an expired instance leaves within a tenth of an interval


@dataclass
class Entry:
    record: InstanceRecord
    last_seen: float  # time.monotonic()
    local: bool = False

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.last_seen


class Registry:
    def __init__(self, heartbeat_interval: float, metrics: CollectorRegistry | None = None) -> None:
        self.expire_after = MISSED_HEARTBEATS * heartbeat_interval
        self.heartbeat_interval = heartbeat_interval
        self._entries: dict[str, Entry] = {}
        self._listeners: list[Listener] = []
        self._heard = -float("inf")  # monotonic time of the last bus message
        self._back = 0.0  # when messages flowed again after a silence
        self.changed = asyncio.Event()
        if metrics is not None:
            metrics.register(_InstancesCollector(self))
            connected = Gauge(
                "ocisd_bus_connected",
                "1 while this process hears the bus (any message, at least its own ping, within 1.5 heartbeats), "
                "else 0: while 0, its registry keeps every instance, marked stale.",
                registry=metrics,
            )
            connected.set_function(lambda: float(self.hears_bus()))

    async def change_or_pause(self, changed: asyncio.Event, until: float, pause: float) -> None:
        """Until `changed` (this registry's `changed`, taken before the caller last looked) is set,
        `pause` passes, or `until` (monotonic) comes, whichever is first: how waiters for an instance poll."""
        try:
            await asyncio.wait_for(changed.wait(), max(min(pause, until - time.monotonic()), 0))
        except TimeoutError:
            pass

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, change: str, record: InstanceRecord) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
        for listener in list(self._listeners):
            listener(change, record)

    def heard(self) -> None:
        """A valid bus message arrived (the bus client calls this for every one)."""
        now = time.monotonic()
        if not self.hears_bus(now):
            self._back = now
        self._heard = now

    def hears_bus(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) - self._heard <= SILENCE * self.heartbeat_interval

    def stale(self, entry: Entry, now: float | None = None) -> bool:
        """A remote instance not heard lately, kept because the bus was silent (or just came back)."""
        now = time.monotonic() if now is None else now
        return not entry.local and (not self.hears_bus(now) or entry.age(now) > self.expire_after)

    def handle(self, msg: Message) -> None:
        """Apply one bus message (announce, heartbeat, bye, or a record of the broker's snapshot)."""
        rec = msg.record
        if rec is None:
            return
        if msg.kind == "bye":
            self._forget_remote(rec.instance)
            return
        self._upsert(rec, local=False, age=msg.age)

    def put_local(self, record: InstanceRecord) -> None:
        self._upsert(record, local=True)

    def remove_local(self, instance: str) -> None:
        self._forget(instance)

    def _forget(self, instance: str) -> None:
        entry = self._entries.pop(instance, None)
        if entry is not None:
            self._notify("removed", entry.record)

    def drop(self, instance: str) -> None:
        """Direct evidence that a remote instance is gone (the proxy's cool-down): while the bus is
        silent, forget it now. While the bus is heard its heartbeats tell (a failure seen through a
        channel still backing off, or at the URL a restarted instance reuses, must not drop a live one)."""
        if not self.hears_bus():
            self._forget_remote(instance)

    def refused(self, address: str, since: float) -> None:
        """A connection to `address` was refused after `since` (monotonic): while the bus is silent,
        drop the remote instances there not heard from since."""
        if self.hears_bus():
            return
        for instance, entry in list(self._entries.items()):
            if address in entry.record.addresses.values() and entry.last_seen < since:
                self._forget_remote(instance)

    def _forget_remote(self, instance: str) -> None:
        entry = self._entries.get(instance)
        if entry is not None and not entry.local:
            self._forget(instance)

    def _upsert(self, rec: InstanceRecord, local: bool, age: float = 0.0) -> None:
        """`age`: how long ago the record was heard (a snapshot's); it expires as if heard then."""
        seen = time.monotonic() - age
        old = self._entries.get(rec.instance)
        if old is not None and (old.local and not local or old.last_seen > seen):
            old.last_seen = max(old.last_seen, seen)
            return
        self._entries[rec.instance] = Entry(rec, seen, local)
        if old is None:
            self._notify("added", rec)
        elif old.record != rec:
            self._notify("updated", rec)

    def expire(self) -> None:
        now = time.monotonic()
        if not self.hears_bus(now) or now - self._back < GRACE * self.heartbeat_interval:
            return
        for instance, entry in list(self._entries.items()):
            if not entry.local and entry.age(now) > self.expire_after:
                self._forget(instance)

    async def run_expiry(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval / EXPIRY_CHECKS_PER_HEARTBEAT)
            self.expire()

    def entries(self, name: str | None = None) -> list[Entry]:
        found = [e for e in self._entries.values() if name is None or e.record.name == name]
        return sorted(found, key=lambda e: (e.record.name, e.record.started, e.record.instance))

    def healthy(self, name: str) -> list[InstanceRecord]:
        return [e.record for e in self.entries(name) if e.record.health == "ready"]


class _InstancesCollector:
    """`ocisd_registry_instances{name, health}`: what this process's registry holds right now."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "ocisd_registry_instances", "Live instances in this process's registry.", labels=["name", "health"]
        )
        stale = GaugeMetricFamily(
            "ocisd_registry_stale_instances",
            "Instances in this process's registry not heard lately, kept (and used) while the bus is silent.",
            labels=["name"],
        )
        counts: dict[tuple[str, str], int] = {}
        stale_counts: dict[str, int] = {}
        now = time.monotonic()
        for entry in self._registry.entries():
            key = (entry.record.name, entry.record.health)
            counts[key] = counts.get(key, 0) + 1
            if self._registry.stale(entry, now):
                stale_counts[entry.record.name] = stale_counts.get(entry.record.name, 0) + 1
        for (name, health), n in sorted(counts.items()):
            family.add_metric([name, health], n)
        for name, n in sorted(stale_counts.items()):
            stale.add_metric([name], n)
        yield family
        yield stale
