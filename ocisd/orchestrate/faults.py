"""Seeded fault schedules and their injection: SIGKILL, SIGSTOP/SIGCONT, restart; and the bus faults
asked for by name: `bus-outage 30s` (the only broker SIGSTOPped that long, then SIGKILLed and restarted
by supervisord) and `broker-kill` (with two brokers, the second SIGKILLed for good)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ocisd.discovery import BUS
from ocisd.orchestrate.deployment import SECOND_BROKER, TempDeployment

KINDS = ("kill", "pause", "restart")
BUS_FAULTS = ("bus-outage", "broker-kill")
GAP = (1.0, 3.0)  # seconds of calm between one recovery and the next fault
PAUSE = (1.0, 2.0)  # how long SIGSTOP holds a process


@dataclass
class Fault:
    extension: str
    kind: str  # kill | pause | restart | bus-outage | broker-kill
    gap: float  # calm before it, after the previous recovery
    pause: float = 0.0  # SIGSTOP duration for `pause`

    @property
    def label(self) -> str:
        labels = {"kill": "SIGKILL", "pause": f"SIGSTOP {self.pause:.1f}s", "restart": "restart"}
        labels.update({"bus-outage": f"bus-outage {self.pause:g}s", "broker-kill": "broker-kill"})
        return labels[self.kind]


def named(text: str) -> Fault:
    """`bus-outage 30s` or `broker-kill` as a fault (ValueError for anything else)."""
    match = re.fullmatch(r"\s*bus-outage\s+(\d+(?:\.\d+)?)s\s*|\s*(broker-kill)\s*", text)
    if match is None:
        raise ValueError(f"unknown fault {text!r}: expected 'bus-outage <seconds>s' or 'broker-kill'")
    if match.group(2):
        return Fault(SECOND_BROKER, "broker-kill", 1.0)
    return Fault(BUS, "bus-outage", 1.0, float(match.group(1)))


def _turns(rng: random.Random, items: Sequence[str], count: int) -> list[str]:
    """`count` picks where every item comes up once per round, each round shuffled."""
    picks: list[str] = []
    while len(picks) < count:
        round_ = list(items)
        rng.shuffle(round_)
        picks += round_
    return picks[:count]


def schedule(seed: int, extensions: Sequence[str], count: int, kinds: Sequence[str] = KINDS) -> list[Fault]:
    """`count` faults: every extension (the broker included) and every kind comes up in turn, shuffled."""
    rng = random.Random(seed)
    targets, kinds_ = _turns(rng, extensions, count), _turns(rng, kinds, count)
    return [
        Fault(target, kind, rng.uniform(*GAP), round(rng.uniform(*PAUSE), 1)) for target, kind in zip(targets, kinds_)
    ]


async def inject(dep: TempDeployment, fault: Fault) -> tuple[float, float]:
    """Apply `fault`; returns monotonic (began, resumed): recovery counts from `resumed`,
    which for a pause is the SIGCONT (the pause itself is the fault), else when it began."""
    pid = await asyncio.to_thread(dep.pid_of, fault.extension)
    began = time.monotonic()
    if fault.kind == "bus-outage":
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(fault.pause)
        finally:
            os.kill(pid, signal.SIGKILL)  # supervisord restarts it
        return began, time.monotonic()
    if fault.kind == "broker-kill":
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(dep.supervisor.stop_program, dep.program(fault.extension))
        return began, began
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
