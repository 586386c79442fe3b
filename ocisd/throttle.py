"""Throttling of failed secrets (passwords, public link passwords): delays, then 429 for a cool-down.

    throttle = LoginThrottle(per_pair, per_address)
    verdict = throttle.verdict(subject, client_ip)  # refuse if retry_after, else sleep delay
    ... check the secret, then throttle.failed(subject, client_ip) or .succeeded(...)

Failures count per (subject, client address) and per client address across
subjects, never per subject alone: an attacker elsewhere cannot lock the owner
out. Kept in memory per instance: with several instances each counts the
failures it sees.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from ocisd.config.schema import Duration, setting

MAX_KEYS = 100_000  # bounded memory under a spray of usernames or addresses
NO_ADDRESS = "unknown"


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


def address_key(client_ip: str) -> str:
    """The bucket of a client address: IPv6 per /64 (one host commonly holds a whole /64).

    A missing or malformed address is one shared bucket of its own, never a way around the count.
    """
    try:
        addr = ipaddress.ip_address(client_ip)
    except ValueError:
        return NO_ADDRESS
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class LoginThrottle:
    """Per (subject, address): delays, then a lockout. Per address: a lockout only.

    The address bucket has no delays, so a few typos behind a shared NAT address
    slow nobody else; it still stops a spray of guesses over many subjects.
    """

    def __init__(self, per_pair: Throttle, per_address: Throttle) -> None:
        self._pair = per_pair
        self._address = per_address

    @staticmethod
    def _keys(subject: str, client_ip: str) -> tuple[str, str]:
        address = address_key(client_ip)
        return f"{address} {subject}", address

    def verdict(self, subject: str, client_ip: str) -> Verdict:
        pair, address = self._keys(subject, client_ip)
        return combine(self._pair.verdict(pair), self._address.verdict(address))

    async def admit(self, subject: str, client_ip: str) -> float:
        """0 once the secret may be checked (after any delay); else the seconds until the lockout ends."""
        verdict = self.verdict(subject, client_ip)
        if verdict.retry_after > 0:
            return verdict.retry_after
        if verdict.delay > 0:
            await asyncio.sleep(verdict.delay)
        return 0.0

    def failed(self, subject: str, client_ip: str) -> None:
        pair, address = self._keys(subject, client_ip)
        self._pair.failed(pair)
        self._address.failed(address)

    def succeeded(self, subject: str, client_ip: str) -> None:
        """Forgets the pair's failures; the address keeps its count (a valid account must not reset it)."""
        self._pair.succeeded(self._keys(subject, client_ip)[0])


@dataclass
class ThrottleSettings:
    """The knobs of an extension that checks secrets; its config dataclass inherits them."""

    throttle_free_attempts: int = setting(3, "Failures per subject and client address before delays begin.")
    throttle_base_delay: Duration = setting(Duration(0.5), "First delay; it doubles with each further failure.")
    throttle_max_delay: Duration = setting(Duration(8.0), "Longest delay before a secret is checked.")
    ip_lockout: int = setting(
        50,
        "Failures per client address, any subject, after which it gets 429 for the cool-down"
        " (IPv6 per /64; requests without an address share one bucket).",
    )
    throttle_cooldown: Duration = setting(Duration(300.0), "How long failures are remembered and a lockout lasts.")

    def login_throttle(self, pair_lockout: int) -> LoginThrottle:
        """Per (subject, address): delays, then a lockout after `pair_lockout` failures; per address: a lockout."""
        delays = (float(self.throttle_base_delay), float(self.throttle_max_delay))
        cooldown = float(self.throttle_cooldown)
        return LoginThrottle(
            Throttle(self.throttle_free_attempts, *delays, pair_lockout, cooldown),
            Throttle(self.ip_lockout, *delays, self.ip_lockout, cooldown),  # no delays below the lockout
        )
