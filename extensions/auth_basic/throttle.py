"""Failed-login throttling: exponential delay after a few failures, then 429 for a cool-down.

Kept in memory per instance: with several auth-basic instances each counts the
failures it sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 100_000  # bounded memory under a spray of usernames or addresses


@dataclass
class _Failures:
    count: int
    last: float


@dataclass(frozen=True)
class Verdict:
    delay: float = 0.0  # wait this long, then check the credentials
    retry_after: float = 0.0  # > 0: refuse without checking (locked out)


class Throttle:
    def __init__(
        self,
        free: int,
        base_delay: float,
        max_delay: float,
        lockout: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free
        self._base = base_delay
        self._max = max_delay
        self._lockout = lockout
        self._cooldown = cooldown
        self._clock = clock
        self._failures: dict[str, _Failures] = {}

    def _live(self, key: str) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and self._clock() - entry.last >= self._cooldown:
            del self._failures[key]
            return None
        return entry

    def verdict(self, key: str) -> Verdict:
        entry = self._live(key)
        if entry is None or entry.count < self._free:
            return Verdict()
        if entry.count >= self._lockout:
            return Verdict(retry_after=self._cooldown - (self._clock() - entry.last))
        return Verdict(delay=min(self._base * 2 ** (entry.count - self._free), self._max))

    def failed(self, key: str) -> None:
        entry = self._live(key)
        if entry is None:
            if len(self._failures) >= MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))
            entry = self._failures[key] = _Failures(0, 0.0)
        entry.count += 1
        entry.last = self._clock()

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


def combine(*verdicts: Verdict) -> Verdict:
    return Verdict(delay=max(v.delay for v in verdicts), retry_after=max(v.retry_after for v in verdicts))
