"""The `ocis` (and `ocisd`) program."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ocisd import __version__
from ocisd.cli import (
    groups_cmd,
    init_cmd,
    orchestrate_cmd,
    registry_cmd,
    runtime_cmds,
    supervisor_cmd,
    systemd_cmd,
    top_cmd,
    users_cmd,
)
from ocisd.cli.command import Command, guarded
from ocisd.cli.extension_cmds import add_extension_parsers
from ocisd.discovery import aliases_of, installed

COMMANDS: list[Command] = [
    init_cmd.COMMAND,
    runtime_cmds.SERVER,
    runtime_cmds.LIST,
    registry_cmd.COMMAND,
    supervisor_cmd.COMMAND,
    systemd_cmd.COMMAND,
    top_cmd.COMMAND,
    orchestrate_cmd.COMMAND,
    users_cmd.COMMAND,
    groups_cmd.COMMAND,
]


def _overview(extensions: dict[str, str]) -> str:
    width = max([len(c.name) for c in COMMANDS] + [len(n) for n in extensions] + [8]) + 2
    lines = ["commands:"]
    lines += [f"  {c.name.ljust(width)}{c.help}" for c in COMMANDS]
    lines += ["", "extensions (each has: ocis <name> server | health | config):"]
    lines += [f"  {n.ljust(width)}{summary}" for n, summary in extensions.items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    known = installed()
    parser = argparse.ArgumentParser(
        prog="ocis",
        description="ocisd: ownCloud Infinite Scale in Python, a file sync-and-share server built from extensions.",
        epilog=_overview(
            {n: cls.summary + "".join(f" (also: {a})" for a in aliases_of(n)) for n, cls in known.items()}
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ocisd {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")
    # A command named like an extension (`ocis users add`) shares that extension's
    # parser with `ocis users server|health|config`.
    merged = {cmd.name: cmd for cmd in COMMANDS if cmd.name in known}
    for cmd in COMMANDS:
        if cmd.name not in merged:
            p = sub.add_parser(cmd.name, description=cmd.help)
            cmd.setup(p)
            p.set_defaults(run=cmd.run)
    for name, cls in known.items():
        add_extension_parsers(sub, name, cls, merged.get(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    def run() -> int:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help()
            return 2
        return int(args.run(args))

    return guarded(run)
