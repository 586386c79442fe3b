"""The live route table: URL prefixes to upstream addresses, following the registry.

Every ready instance record carries `routes` (prefixes) and `addresses["http"]`;
the table is rebuilt whenever the registry changes. Config may add or override
routes (`PREFIX=EXTENSION` or `PREFIX=http://host:port`). A prefix once seen
stays known, so a route whose instances are all gone answers 503 (its extension
is restarting) rather than 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ocisd import addresses
from ocisd.bus.messages import InstanceRecord
from ocisd.config.schema import ConfigError

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


class RouteTable:
    def __init__(self, overrides: dict[str, str], this_host: str) -> None:
        self._overrides = overrides
        self._host = this_host
        self._known: dict[str, str] = {p: t for p, t in overrides.items() if "://" not in t}
        self._routes: list[Route] = []
        self.update([])

    def update(self, records: Iterable[InstanceRecord]) -> None:
        """Rebuild from the ready instances of the registry."""
        by_extension: dict[str, list[Upstream]] = {}
        for rec in records:
            up = upstream_of(rec, self._host) if rec.health == "ready" else None
            if up is None:
                continue
            by_extension.setdefault(rec.name, []).append(up)
            for prefix in rec.routes:
                self._known.setdefault(prefix, rec.name)
        routes = []
        for prefix, extension in self._known.items():
            target = self._overrides.get(prefix, extension)
            if "://" in target:
                continue
            ups = sorted(by_extension.get(target, []), key=lambda u: u.url)
            routes.append(Route(prefix, target, ups))
        for prefix, target in self._overrides.items():
            if "://" in target:
                routes.append(Route(prefix, STATIC, [Upstream(target)]))
        # Longest prefix first: the first match wins.
        self._routes = sorted(routes, key=lambda r: (-len(r.prefix), r.prefix))

    def match(self, path: str) -> Route | None:
        for route in self._routes:
            if route.matches(path):
                return route
        return None

    def routes(self) -> list[Route]:
        return sorted(self._routes, key=lambda r: r.prefix)
