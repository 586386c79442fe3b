"""The live route table: URL prefixes to upstream addresses, following the registry.

Every ready instance record carries `routes` (prefixes) and `addresses["http"]`;
the table is rebuilt whenever the registry changes. Config may add or override
routes (`PREFIX=EXTENSION` or `PREFIX=http://host:port`).

A prefix an installed extension declares (its class's `routes`, code on this
host) belongs to that extension alone: once seen it stays known, so while its
instances are all gone a request waits for one (`no_instance_wait`: its extension
is restarting), then answers 503 rather than 404. Any other prefix a record
announces lives only as long as an instance in the registry announces it: a
forged record's route leaves with the record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from ocisd import addresses
from ocisd.bus.messages import InstanceRecord
from ocisd.config.schema import ConfigError
from ocisd.discovery import installed

STATIC = "static"


@dataclass(frozen=True)
class Upstream:
    """One place a route's requests can go: `url` is the base, e.g. http://127.0.0.1:9105."""

    url: str
    instance: str = STATIC
    host: str = ""
    pid: int = 0
    address: str = ""  # as announced, the key of a local app in `Node.local_http`


@dataclass
class Route:
    prefix: str
    extension: str  # the extension serving it, or "static" for a configured URL
    upstreams: list[Upstream] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        p = self.prefix
        if not path.startswith(p):
            return False
        # "/hello" matches "/hello" and "/hello/x" but not "/helloworld".
        return len(path) == len(p) or p.endswith("/") or path[len(p)] == "/"


def parse_overrides(lines: Iterable[str]) -> dict[str, str]:
    """`PREFIX=TARGET` lines to {prefix: extension name or base URL}."""
    out: dict[str, str] = {}
    for line in lines:
        prefix, sep, target = line.partition("=")
        prefix, target = prefix.strip(), target.strip()
        if not sep or not prefix.startswith("/") or not target:
            raise ConfigError(f"proxy routes: expected PREFIX=EXTENSION or PREFIX=http://host:port, found {line!r}")
        if "://" in target and not target.startswith(("http://", "https://")):
            raise ConfigError(f"proxy routes: upstream URL must be http:// or https://, found {target!r}")
        out[prefix] = target.rstrip("/")
    return out


def upstream_of(record: InstanceRecord, this_host: str) -> Upstream | None:
    """Where to reach an instance's HTTP address from this host (None when it serves no HTTP)."""
    addr = record.addresses.get("http")
    if not addr:
        return None
    host, port = addresses.split(addr)
    if record.host != this_host and addresses.is_loopback(host):
        # A wildcard bind is announced as loopback; from another host, dial that host by name.
        host = record.host
    return Upstream(f"http://{addresses.join(host, port)}", record.instance, record.host, record.pid, addr)


def declared_routes() -> dict[str, str]:
    """{prefix: extension} of every installed extension's own routes."""
    return {prefix: name for name, cls in installed().items() for prefix in cls.routes}


def _keep(previous: str | None, claimants: set[str]) -> str:
    return previous if previous in claimants else min(claimants)


class RouteTable:
    def __init__(self, overrides: dict[str, str], this_host: str, no_instance_wait: float = 0.0) -> None:
        self.no_instance_wait = no_instance_wait
        self.changed = asyncio.Event()  # replaced by a fresh one at every update
        self._overrides = overrides
        self._host = this_host
        self._declared = declared_routes()
        # Configured and declared prefixes, kept once seen; announced ones, kept while announced.
        self._known: dict[str, str] = {p: t for p, t in overrides.items() if "://" not in t}
        self._announced: dict[str, str] = {}
        self._routes: list[Route] = []
        self.update([])

    def update(self, records: Iterable[InstanceRecord]) -> None:
        """Rebuild from the instances of the registry (upstreams: the ready ones)."""
        by_extension: dict[str, list[Upstream]] = {}
        draining: dict[str, list[Upstream]] = {}  # said bye, still serving: only in its own process
        claims: dict[str, set[str]] = {}
        for rec in records:
            for prefix in rec.routes:
                owner = self._declared.get(prefix)
                if owner == rec.name:
                    self._known.setdefault(prefix, owner)
                elif owner is None:
                    claims.setdefault(prefix, set()).add(rec.name)
            up = upstream_of(rec, self._host) if rec.health in ("ready", "stopping") else None
            if up is not None:
                (by_extension if rec.health == "ready" else draining).setdefault(rec.name, []).append(up)
        # An announced prefix stays with the extension that had it while that one still claims it.
        self._announced = {p: _keep(self._announced.get(p), names) for p, names in claims.items()}
        routes = []
        for prefix, extension in {**self._announced, **self._known}.items():
            target = self._overrides.get(prefix, extension)
            if "://" in target:
                continue
            ups = sorted(by_extension.get(target) or draining.get(target, []), key=lambda u: u.url)
            routes.append(Route(prefix, target, ups))
        for prefix, target in self._overrides.items():
            if "://" in target:
                routes.append(Route(prefix, STATIC, [Upstream(target)]))
        # Longest prefix first: the first match wins.
        self._routes = sorted(routes, key=lambda r: (-len(r.prefix), r.prefix))
        self.changed.set()
        self.changed = asyncio.Event()

    async def next_change(self, until: float, pause: float) -> None:
        """Until the table changes, `pause` s pass, or the loop's time reaches `until`."""
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(self.changed.wait(), max(0.0, min(pause, until - loop.time())))
        except TimeoutError:
            pass

    async def serving(self, route: Route) -> Route:
        """`route` as it is once it has an instance, or after `no_instance_wait` (still without)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.no_instance_wait
        while not route.upstreams and loop.time() < until:
            await self.next_change(until, self.no_instance_wait)
            route = self.current(route)
        return route

    def current(self, route: Route) -> Route:
        """The table's route for `route`'s prefix now (the table rebuilds its routes at every change)."""
        return next((r for r in self._routes if r.prefix == route.prefix), route)

    def match(self, path: str) -> Route | None:
        for route in self._routes:
            if route.matches(path):
                return route
        return None

    def routes(self) -> list[Route]:
        return sorted(self._routes, key=lambda r: r.prefix)
