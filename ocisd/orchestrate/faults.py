"""Seeded fault schedules and their injection: SIGKILL, SIGSTOP/SIGCONT, restart."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ocisd.orchestrate.deployment import TempDeployment

KINDS = ("kill", "pause", "restart")
GAP = (1.0, 3.0)  # seconds of calm between one recovery and the next fault
PAUSE = (1.0, 2.0)  # how long SIGSTOP holds a process


@dataclass
class Fault:
    extension: str
    kind: str  # kill | pause | restart
    gap: float  # calm before it, after the previous recovery
    pause: float = 0.0  # SIGSTOP duration for `pause`

    @property
    def label(self) -> str:
        return {"kill": "SIGKILL", "pause": f"SIGSTOP {self.pause:.1f}s", "restart": "restart"}[self.kind]


def schedule(seed: int, extensions: Sequence[str], count: int, kinds: Sequence[str] = KINDS) -> list[Fault]:
    """`count` faults on random extensions (the broker included); every kind comes up in turn, shuffled."""
    rng = random.Random(seed)
    faults = []
    for i in range(count):
        if i % len(kinds) == 0:
            cycle = list(kinds)
            rng.shuffle(cycle)
        kind = cycle[i % len(kinds)]
        faults.append(Fault(rng.choice(list(extensions)), kind, rng.uniform(*GAP), round(rng.uniform(*PAUSE), 1)))
    return faults


async def inject(dep: TempDeployment, fault: Fault) -> tuple[float, float]:
    """Apply `fault`; returns monotonic (began, resumed): recovery counts from `resumed`,
    which for a pause is the SIGCONT (the pause itself is the fault), else when it began."""
    pid = await asyncio.to_thread(dep.pid_of, fault.extension)
    began = time.monotonic()
    if fault.kind == "restart":
        await asyncio.to_thread(dep.restart, fault.extension)
    elif fault.kind == "kill":
        os.kill(pid, signal.SIGKILL)
    else:
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(fault.pause)
        finally:
            os.kill(pid, signal.SIGCONT)
        return began, time.monotonic()
    return began, began
