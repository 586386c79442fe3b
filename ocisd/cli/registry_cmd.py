"""`ocis registry`: join the bus briefly and print the live extension instances."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from ocisd.cli.command import Command, print_json, print_table
from ocisd.config import loader
from ocisd.config.shared import SharedConfig
from ocisd.discovery import installed
from ocisd.node import Node

JOIN_AT_MOST = 1.5  # seconds on the bus, whatever the heartbeat interval
# Heartbeats drift a little past the interval; wait this much longer than one.
INTERVAL_SLACK = 1.1
COLUMNS = ["name", "instance", "host", "address", "pid", "addresses", "health", "age", "stale"]


async def listen(shared: SharedConfig) -> list[dict[str, Any]]:
    """Rows of the instances heard within one heartbeat interval of the first message (at most JOIN_AT_MOST)."""
    node = Node(shared)
    await node.start()
    try:
        start = time.monotonic()
        first: float | None = None
        while (now := time.monotonic()) < start + JOIN_AT_MOST:
            if first is None and node.registry.entries():
                first = now
            if first is not None and now - first >= shared.heartbeat_interval * INTERVAL_SLACK:
                break
            await asyncio.sleep(0.02)
        now = time.monotonic()
        return [
            {
                "name": e.record.name,
                "instance": e.record.instance,
                "host": e.record.host,
                "address": e.record.address,
                "pid": e.record.pid,
                "addresses": e.record.addresses,
                "health": e.record.health,
                "age": round(e.age(now), 3),
                "stale": node.registry.stale(e, now),
            }
            for e in node.registry.entries()
        ]
    finally:
        await node.close()


def _setup(p: argparse.ArgumentParser) -> None:
    p.description = "Join the bus for at most 1.5 s and print the live extension instances."
    p.add_argument(
        "--json", action="store_true", help="print a JSON array of objects with the keys " + ", ".join(COLUMNS)
    )


def _run(args: argparse.Namespace) -> int:
    shared = loader.load(None, None, installed()).shared
    rows = asyncio.run(listen(shared))
    if not rows:
        print(f"ocis: no instance heard on the bus at {shared.bus_sub_addr}", file=sys.stderr)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            row["addresses"] = " ".join(f"{k}={v}" for k, v in sorted(row["addresses"].items()))
            row["age"] = f"{row['age']:.1f}s"
            row["stale"] = "stale" if row["stale"] else ""
        print_table(rows, COLUMNS)
    return 0 if rows else 1


COMMAND = Command("registry", "list the live extension instances heard on the bus", _setup, _run)
