"""`ocis systemd generate [--dir DIR] [--user] [--extensions LIST]`: the template unit and the target."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ocisd import systemd
from ocisd.cli.command import Command
from ocisd.discovery import deployment


def _setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    g = actions.add_parser("generate", help="write ocisd@.service and ocisd.target")
    g.add_argument("--dir", type=Path, default=None, help="where to write (default: the system or user unit dir)")
    g.add_argument("--user", action="store_true", help="units for the user's service manager (systemctl --user)")
    g.add_argument(
        "--extensions",
        default="",
        help="comma-separated extensions the target wants (default: all but the optional ones; "
        "OCIS_ADD_RUN_EXTENSIONS adds)",
    )
    g.add_argument(
        "--broker",
        type=int,
        default=None,
        metavar="N",
        help="this host's bus broker binds pair N (from 0) of the comma-separated OCIS_BUS_PUB_ADDR/"
        "OCIS_BUS_SUB_ADDR (a drop-in for ocisd@bus.service): one broker on each of two hosts",
    )


def _run(args: argparse.Namespace) -> int:
    names = deployment(args.extensions, os.environ)  # all but the optional ones when empty; unknown names refused
    directory = args.dir or systemd.default_dir(args.user)
    paths = systemd.write(directory, names, os.environ, args.user, args.broker)
    scope = "--user " if args.user else ""
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(f"next: systemctl {scope}daemon-reload && systemctl {scope}enable --now {systemd.TARGET}")
    return 0


COMMAND = Command(
    "systemd", "generate systemd units: ocisd@.service (one per extension) and ocisd.target", _setup, _run
)
