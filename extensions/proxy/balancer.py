"""Round-robin over a route's upstreams, a keep-alive pool per upstream, cool-down for failing ones.

An announced upstream going into cool-down is direct evidence for the registry
(`gone`): while the bus is silent, its instance is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .routes import STATIC, Route, Upstream
from .upstream import Pool

FAILURES_BEFORE_COOLDOWN = 2


class Balancer:
    def __init__(
        self, cooldown: float, read_timeout: float, verify_tls: bool, gone: Callable[[str], None] = lambda _: None
    ) -> None:
        self._cooldown = cooldown
        self._gone = gone  # called with the instance id of an upstream that went into cool-down
        self._read_timeout = read_timeout
        self._verify = verify_tls
        self._pools: dict[str, Pool] = {}
        self._next: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._cool_until: dict[str, float] = {}

    def candidates(self, route: Route) -> list[Upstream]:
        """The route's upstreams in the order to try: round-robin, cooling-down ones last."""
        ups = route.upstreams
        if len(ups) > 1:
            start = self._next.get(route.prefix, 0) % len(ups)
            self._next[route.prefix] = start + 1
            ups = ups[start:] + ups[:start]
        if not self._cool_until:
            return list(ups)
        now = time.monotonic()
        warm = [u for u in ups if self._cool_until.get(u.url, 0.0) <= now]
        return warm + [u for u in ups if u not in warm]

    def pool(self, up: Upstream) -> Pool:
        """The keep-alive pool of one upstream, made on first use."""
        pool = self._pools.get(up.url)
        if pool is None:
            pool = self._pools[up.url] = Pool(up.url, self._verify, self._read_timeout)
        return pool

    def failed(self, up: Upstream) -> None:
        count = self._failures.get(up.url, 0) + 1
        self._failures[up.url] = count
        if count >= FAILURES_BEFORE_COOLDOWN:
            self._cool_until[up.url] = time.monotonic() + self._cooldown
            if up.instance != STATIC:
                self._gone(up.instance)

    def succeeded(self, up: Upstream) -> None:
        if up.url in self._failures:
            del self._failures[up.url]
            self._cool_until.pop(up.url, None)

    async def prune(self, live: set[str]) -> None:
        """Close the pools of upstreams that left the table."""
        for url in [u for u in self._pools if u not in live]:
            await self._pools.pop(url).close()
            self._failures.pop(url, None)
            self._cool_until.pop(url, None)

    async def close(self) -> None:
        await self.prune(set())
