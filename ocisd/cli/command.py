"""The shape of a top-level `ocis` command: each lives in its own module."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Command:
    name: str
    help: str
    setup: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def guarded(run: Callable[[], int]) -> int:
    """Run a command; a config error is one line on stderr and exit status 2, never a traceback."""
    from ocisd.config.schema import ConfigError

    try:
        return int(run())
    except ConfigError as exc:
        print(f"ocis: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as an aligned text table with upper-case headings."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
