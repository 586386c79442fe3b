"""`ocis <name> server|health|config` for every installed extension, with no per-extension code."""

from __future__ import annotations

import argparse
import asyncio
import os
import urllib.error
import urllib.request
from typing import Any

from ocisd import addresses, logs
from ocisd.cli.command import Command, print_json, print_table
from ocisd.config import loader
from ocisd.config.loader import EffectiveConfig
from ocisd.discovery import aliases_of, installed, load_one, names
from ocisd.extension import Extension
from ocisd.runtime.standalone import serve_one

MASK = "********"


def _effective(name: str) -> EffectiveConfig:
    known = installed()
    return loader.load(name, known[name].config, known)


def serve(name: str) -> int:
    """`ocis <name> server`: the extension in the foreground in this process."""
    cfg = loader.load(name, load_one(name).config, names())
    logs.setup(cfg.shared.log_level, cfg.shared.log_format)
    return asyncio.run(serve_one(name, os.environ))


def _server(args: argparse.Namespace) -> int:
    return serve(args.extension)


def _probe(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, resp.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()
    except OSError as exc:
        return 0, str(getattr(exc, "reason", exc))


def _health(args: argparse.Namespace) -> int:
    cfg = _effective(args.extension)
    debug = addresses.connectable(cfg.own.debug_addr)
    ok = True
    for path in ("/healthz", "/readyz"):
        status, text = _probe(f"http://{debug}{path}")
        print(f"{path}: {status or 'unreachable'} {text}")
        ok = ok and status == 200
    return 0 if ok else 1


def config_rows(cfg: EffectiveConfig, show_secrets: bool) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in cfg.settings:
        value = cfg.value(s.key)
        if s.secret and value and not show_secrets:
            value = MASK
        out[s.key] = {"value": value, "source": cfg.sources[s.key]}
    return out


def _config(args: argparse.Namespace) -> int:
    rows = config_rows(_effective(args.extension), args.show_secrets)
    if args.json:
        print_json(rows)
        return 0
    print_table([{"key": k, **v} for k, v in rows.items()], ["key", "value", "source"])
    return 0


def has_migrations(cls: type[Extension]) -> bool:
    """Whether the extension overrides `Extension.migrate` (then `ocis <name> migrate` exists)."""
    return getattr(cls.migrate, "__func__", None) is not getattr(Extension.migrate, "__func__", None)


def _migrate(cls: type[Extension], cfg: EffectiveConfig) -> int:
    applied = cls.migrate(cfg) or []
    for line in applied:
        print(f"applied {line}")
    if not applied:
        print(f"{cfg.name}: schema up to date")
    return 0


def _subparsers_of(p: argparse.ArgumentParser) -> Any:
    """The sub-command action a command's setup added to `p` (argparse keeps it among its actions)."""
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))


def add_extension_parsers(sub: Any, name: str, cls: type[Extension], command: Command | None = None) -> None:
    """`ocis <name> server|health|config`, the extension's own commands, and a same-named core command's."""
    p = sub.add_parser(name, aliases=aliases_of(name), description=command.help if command else cls.summary)
    if command is not None:
        command.setup(p)
        p.set_defaults(extension=name, run=command.run)
        cmds = _subparsers_of(p)
    else:
        p.set_defaults(extension=name, run=lambda a: (p.print_help(), 2)[1])
        cmds = p.add_subparsers(metavar="COMMAND")
    s = cmds.add_parser("server", help=f"run {name} in the foreground in its own process")
    s.set_defaults(run=_server)
    h = cmds.add_parser("health", help=f"check {name}'s debug /healthz and /readyz")
    h.set_defaults(run=_health)
    c = cmds.add_parser("config", help=f"print {name}'s effective config and where each value came from")
    c.add_argument("--json", action="store_true", help='print {"key": {"value": ..., "source": ...}}')
    c.add_argument("--show-secrets", action="store_true", help="print secrets instead of masking them")
    c.set_defaults(run=_config)
    if has_migrations(cls):
        m = cmds.add_parser("migrate", help=f"apply {name}'s database schema migrations and exit")
        m.set_defaults(run=lambda a: _migrate(cls, _effective(name)))
    for extra in cls.commands:
        e = cmds.add_parser(extra.name, help=extra.help)
        extra.setup(e)

        def run(a: argparse.Namespace, fn: Any = extra.run) -> int:
            return int(fn(a, _effective(name)))

        e.set_defaults(run=run)
