"""The `ocis` (and `ocisd`) program."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ocisd import __version__
from ocisd.cli import init_cmd, runtime_cmds
from ocisd.cli.command import Command
from ocisd.cli.extension_cmds import add_extension_parsers
from ocisd.config.schema import ConfigError
from ocisd.discovery import installed

COMMANDS: list[Command] = [init_cmd.COMMAND, runtime_cmds.SERVER, runtime_cmds.LIST]


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
        epilog=_overview({n: cls.summary for n, cls in known.items()}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ocisd {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, description=cmd.help)
        cmd.setup(p)
        p.set_defaults(run=cmd.run)
    for name, cls in known.items():
        add_extension_parsers(sub, name, cls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help()
            return 2
        return int(args.run(args))
    except ConfigError as exc:
        print(f"ocis: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    sys.exit(main())
