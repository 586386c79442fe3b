"""The work `ocis orchestrate check` keeps doing while faults hit the deployment.

A workload says which extensions it needs, does one unit of work per
`attempt`, and at the end counts acknowledged work that was lost. Greets are
the first; uploads and downloads join as the file extensions arrive.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import ClassVar

import aiohttp

REQUEST_TIMEOUT = 2.0
PAUSE = 0.05  # between requests: a steady trickle, not a load test


@dataclass
class Attempt:
    started: float  # time.monotonic()
    ended: float
    ok: bool


@dataclass
class Greets:
    """POST /api/v0/greet through hello's HTTP API, each with a unique name.

    A greet is acknowledged when it answers 200; an acknowledged greet whose
    answer is not the greeting for its own name counts as lost work.
    """

    url: str
    extensions: ClassVar[tuple[str, ...]] = ("bus", "hello")
    attempts: list[Attempt] = field(default_factory=list)
    wrong_acks: int = 0

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
        async with aiohttp.ClientSession(timeout=timeout) as session:
            seq = 0
            while not stop.is_set():
                seq += 1
                started = time.monotonic()
                ok = await self.attempt(session, seq)
                self.attempts.append(Attempt(started, time.monotonic(), ok))
                await asyncio.sleep(PAUSE)

    def ok_since(self, t: float) -> float | None:
        """When the work succeeded again after `t`: the end of the first success that started
        after `t` and after the last failure since `t` (a request may still succeed while a
        graceful stop begins; that is not recovery)."""
        recent = [a for a in self.attempts if a.started >= t]
        last_failure = max((a.started for a in recent if not a.ok), default=t)
        return next((a.ended for a in recent if a.started >= last_failure and a.ok), None)

    def failed_between(self, t0: float, t1: float) -> int:
        return sum(1 for a in self.attempts if t0 <= a.started <= t1 and not a.ok)

    async def lost(self) -> int:
        return self.wrong_acks
