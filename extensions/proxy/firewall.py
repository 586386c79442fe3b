"""Applies the rules in force: allow/deny CIDRs (global, then per route) and a rate limit per client IP."""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .rules import Network, Rules

MAX_BUCKETS = 100_000  # beyond this, full (idle) buckets are dropped


@dataclass(frozen=True)
class Verdict:
    """Why a request is refused before it reaches an upstream."""

    status: int
    reason: str
    retry_after: int = 0


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)  # clients come back: parsing an address costs more than the rest of a check
def parse_ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def in_networks(ip: IPAddress, networks: Sequence[Network]) -> bool:
    return any(ip.version == n.version and ip in n for n in networks)


def _admitted(ip: IPAddress, allow: Sequence[Network], deny: Sequence[Network]) -> bool:
    if deny and in_networks(ip, deny):
        return False
    return not allow or in_networks(ip, allow)


class Firewall:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._buckets: dict[str, tuple[float, float]] = {}  # client IP → (tokens, last refill)

    def replace(self, rules: Rules) -> None:
        """Put new rules in force; open connections and rate buckets carry on."""
        self.rules = rules

    def check(self, ip: IPAddress | None, route: str | None) -> Verdict | None:
        rules = self.rules
        if ip is not None:
            if not _admitted(ip, rules.allow, rules.deny):
                return Verdict(403, "client address denied")
            per_route = rules.routes.get(route) if route is not None else None
            if per_route is not None and not _admitted(ip, per_route.allow, per_route.deny):
                return Verdict(403, "client address denied for this route")
        if rules.rate_limit > 0:
            wait = self._take(str(ip), rules.rate_limit, max(1, rules.rate_burst))
            if wait > 0:
                return Verdict(429, "rate limit exceeded", max(1, math.ceil(wait)))
        return None

    def _take(self, key: str, rate: float, burst: int) -> float:
        """Take one token; 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
            self._drop_idle(now, rate, burst)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def _drop_idle(self, now: float, rate: float, burst: int) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * rate >= burst:
                del self._buckets[key]
