"""`ocis server` (the runtime) and `ocis list` (what a running runtime runs)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from ocisd import logs
from ocisd.cli.command import Command, print_json, print_table
from ocisd.config import loader
from ocisd.discovery import installed, selection
from ocisd.runtime import control
from ocisd.runtime.server import Runtime, RuntimeBusyError


def _server_setup(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Run extensions in one process. OCIS_RUN_EXTENSIONS picks them (all when unset), "
        "OCIS_EXCLUDE_RUN_EXTENSIONS removes some."
    )


def _server(args: argparse.Namespace) -> int:
    names = selection(os.environ)
    runtime = Runtime(names, os.environ)
    shared = runtime.shared_cfg.shared
    logs.setup(shared.log_level, shared.log_format)
    try:
        return asyncio.run(runtime.serve())
    except RuntimeBusyError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 1


def _list_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON array")


def _list(args: argparse.Namespace) -> int:
    shared = loader.load(None, None, installed()).shared
    try:
        rows = control.request(shared, "/v0/extensions")
    except OSError:
        print(f"ocis: no runtime is running at {shared.runtime_addr}", file=sys.stderr)
        return 1
    except control.ControlError as exc:  # 401: a runtime of another config (or an unrelated server)
        print(f"ocis: the runtime at {shared.runtime_addr} refused: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        row["addresses"] = " ".join(f"{k}={v}" for k, v in row["addresses"].items())
        if row.get("error"):
            row["state"] = f"{row['state']} ({row['error']})"
    print_table(rows, ["name", "state", "pid", "restarts", "addresses"])
    return 0


SERVER = Command("server", "run extensions in one process (the runtime)", _server_setup, _server)
LIST = Command("list", "list the extensions of the running runtime", _list_setup, _list)
