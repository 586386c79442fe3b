"""`ocis top [--once] [--json]`: every live instance on every host, with CPU and memory."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import asdict
from typing import Any

from ocisd.cli.command import Command, print_json, print_table
from ocisd.config import loader
from ocisd.config.shared import SharedConfig
from ocisd.discovery import installed
from ocisd.top import Row, Watcher, snapshot

REFRESH = 2.0
COLUMNS = ["name", "host", "address", "pid", "cpu", "rss", "uss", "health", "restarts", "uptime"]
CLEAR = "\x1b[H\x1b[2J"


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="print one snapshot and exit instead of refreshing")
    p.add_argument("--json", action="store_true", help="print JSON (one array per refresh); implies nothing else")


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}M"


def _text_row(row: dict[str, Any]) -> dict[str, Any]:
    cpu = row["cpu_percent"]
    return {
        **row,
        "cpu": "-" if cpu is None else f"{cpu:.1f}%",
        "rss": _mib(row["rss"]),
        "uss": _mib(row["uss"]),
        "uptime": f"{row['uptime']:.0f}s",
        "health": f"{row['health']} (stale)" if row["stale"] else row["health"],
    }


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(rows)
    else:
        print_table([_text_row(r) for r in rows], COLUMNS)


async def _follow(shared: SharedConfig, as_json: bool) -> None:
    async with Watcher(shared) as watcher:
        await watcher.settle()
        while True:
            rows: list[Row] = watcher.rows()
            if not as_json:
                sys.stdout.write(CLEAR)
                bus = "heard" if watcher.node.registry.hears_bus() else "SILENT (instances kept, marked stale)"
                print(
                    f"ocis top  {time.strftime('%H:%M:%S')}  {len(rows)} instances  bus {shared.bus_sub_addr}: {bus}\n"
                )
            _print([asdict(r) for r in rows], as_json)
            sys.stdout.flush()
            await asyncio.sleep(REFRESH)


def _run(args: argparse.Namespace) -> int:
    shared = loader.load(None, None, installed()).shared
    if not args.once:
        try:
            asyncio.run(_follow(shared, args.json))
        except KeyboardInterrupt:
            pass
        return 0
    rows = asyncio.run(snapshot(shared))
    if not rows:
        print(f"ocis: no instance heard on the bus at {shared.bus_sub_addr}", file=sys.stderr)
    _print(rows, args.json)
    return 0 if rows else 1


COMMAND = Command("top", "every live instance on every host with CPU %, RSS and USS, refreshed in place", _setup, _run)
