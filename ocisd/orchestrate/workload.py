"""The work `ocis orchestrate check` keeps doing while faults hit the deployment.

A workload records every request it makes as an `Attempt`, and at the end
counts acknowledged work that was lost. `Mix` runs several side by side (the
greets here and the file workload in `files.py`) and answers as one: the work
has recovered when every one of them has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

# Above the proxy's and the rpc client's wait for an instance (5 s): a restart costs a pause, not an error.
REQUEST_TIMEOUT = 10.0
PAUSE = 0.05  # between requests: a steady trickle, not a load test
SAFE_METHODS = ("GET", "HEAD", "PROPFIND", "OPTIONS")  # idempotent: the proxy may retry them after a crash


@dataclass
class Attempt:
    started: float  # time.monotonic()
    ended: float
    ok: bool
    safe: bool = False  # an idempotent request (SAFE_METHODS)


class Workload:
    """Requests recorded as attempts; subclasses do the work in `run` and judge it in `lost`."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    @property
    def uploads(self) -> int:
        """Acknowledged uploads, for the workloads that upload."""
        return 0

    def record(self, started: float, ok: bool, method: str = "POST") -> bool:
        self.attempts.append(Attempt(started, time.monotonic(), ok, method in SAFE_METHODS))
        return ok

    def ok_since(self, t: float) -> float | None:
        """When the work succeeded again after `t`: the end of the first success that started
        after `t` and after the last failure since `t` (a request may still succeed while a
        graceful stop begins; that is not recovery)."""
        recent = [a for a in self.attempts if a.started >= t]
        last_failure = max((a.started for a in recent if not a.ok), default=t)
        return next((a.ended for a in recent if a.started >= last_failure and a.ok), None)

    def failed_between(self, t0: float, t1: float, safe_only: bool = False) -> int:
        """Failed requests that ran during [t0, t1] (also those already in flight at t0: a stop fails
        them too); `safe_only`: the idempotent ones."""
        return sum(
            1 for a in self.attempts if a.ended >= t0 and a.started <= t1 and not a.ok and (a.safe or not safe_only)
        )

    def longest_pause(self, t0: float, t1: float) -> float:
        """The longest time within [t0, t1] no request succeeded: from t0 or the end of one success
        to the end of the next (requests waiting for an instance make the pause)."""
        ends = sorted(a.ended for a in self.attempts if a.ok and t0 <= a.ended <= t1)
        marks = [t0, *ends]
        return max((b - a for a, b in zip(marks, marks[1:])), default=t1 - t0)

    async def run(self, stop: asyncio.Event) -> None:
        raise NotImplementedError

    async def lost(self) -> int:
        return 0


class Greets(Workload):
    """POST /api/v0/greet, through the proxy to hello's HTTP API, each with a unique name.

    A greet is acknowledged when it answers 200; an acknowledged greet whose
    answer is not the greeting for its own name counts as lost work.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.wrong_acks = 0

    async def attempt(self, session: aiohttp.ClientSession, seq: int) -> bool:
        name = f"w{seq}"
        try:
            async with session.post(self.url, json={"name": name}) as resp:
                body = await resp.json(content_type=None) if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        if body is None:
            return False
        if body != {"message": f"Hello {name}"}:
            self.wrong_acks += 1
        return True

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        # The proxy of a temp deployment serves a self-signed certificate.
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=False)) as session:
            seq = 0
            while not stop.is_set():
                seq += 1
                started = time.monotonic()
                self.record(started, await self.attempt(session, seq))
                await asyncio.sleep(PAUSE)

    async def lost(self) -> int:
        return self.wrong_acks


class Mix:
    """Several workloads at once; recovered when each has succeeded again."""

    def __init__(self, parts: Sequence[Workload]) -> None:
        self.parts = list(parts)

    @property
    def attempts(self) -> list[Attempt]:
        return [a for w in self.parts for a in w.attempts]

    @property
    def acknowledged(self) -> int:
        return sum(w.uploads for w in self.parts)

    def ok_since(self, t: float) -> float | None:
        times = [w.ok_since(t) for w in self.parts]
        return None if None in times else max(t for t in times if t is not None)

    def failed_between(self, t0: float, t1: float, safe_only: bool = False) -> int:
        return sum(w.failed_between(t0, t1, safe_only) for w in self.parts)

    def longest_pause(self, t0: float, t1: float) -> float:
        return max(w.longest_pause(t0, t1) for w in self.parts)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(w.run(stop) for w in self.parts))

    async def lost(self) -> int:
        return sum([await w.lost() for w in self.parts])
