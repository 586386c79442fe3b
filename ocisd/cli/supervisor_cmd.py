"""`ocis supervisor generate|start|status|restart NAME|reload|stop`: extensions as supervisord programs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ocisd.cli.command import Command, print_json, print_table
from ocisd.config.loader import config_dir
from ocisd.discovery import canonical, deployment
from ocisd.supervisor import config
from ocisd.supervisor.control import Failure, Supervisor, SupervisorError


def default_dir() -> Path:
    return config_dir() / "supervisor"


def _setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help, description=help)
        a.add_argument("--dir", type=Path, default=None, help="deployment directory (default: <config dir>/supervisor)")
        return a

    g = action("generate", "write supervisord.conf with one [program:ocis-<name>] per extension instance")
    g.add_argument(
        "--extensions",
        default="",
        help="comma-separated extensions (default: all installed but the optional ones; OCIS_ADD_RUN_EXTENSIONS adds)",
    )
    g.add_argument(
        "--instances",
        default="",
        metavar="NAME=N,...",
        help=f"run N instances of NAME (default 1): ocis-NAME on its configured addresses, ocis-NAME-k on "
        f"every port + (k-1) x {config.INSTANCE_PORT_STEP}",
    )
    g.add_argument(
        "--broker",
        type=int,
        default=None,
        metavar="N",
        help="this host's ocis-bus binds pair N (from 0) of the comma-separated OCIS_BUS_PUB_ADDR/OCIS_BUS_SUB_ADDR: "
        "one broker on each of two hosts (--instances bus=2 runs both on this one)",
    )
    g.add_argument(
        "--program-env",
        action="append",
        default=[],
        metavar="PROGRAM:KEY=VALUE",
        help="one program's own variable on top of the shell's (repeatable), e.g. "
        "ocis-storage-users-2:STORAGE_USERS_HOME_RANGE=80-ff",
    )
    g.add_argument(
        "--portable",
        action="store_true",
        help="no machine-specific paths: the repository venv's ocis and ~/.ocis/config (as in supervisor.d/)",
    )
    action("start", "launch supervisord and wait until every program is RUNNING")
    s = action("status", "every program's state, PID and uptime")
    s.add_argument("--json", action="store_true", help='print [{"name", "state", "pid", "uptime"}]')
    r = action(
        "restart",
        "restart an extension's instances one at a time, each ready and in the bus registry before the next "
        "stops; the others keep their PIDs",
    )
    r.add_argument(
        "name", help="extension (hello or ocis-hello: every instance) or one instance's program (ocis-hello-2)"
    )
    action(
        "reload",
        "apply a changed supervisord.conf: start added programs, restart changed ones one at a time, stop removed ones",
    )
    action("stop", "shut supervisord down and wait until every program exited")


def _report(failures: list[Failure]) -> int:
    for f in failures:
        print(f"ocis: {f.program} is {f.state}; the end of its log:\n{f.log_tail}", file=sys.stderr)
    return 1 if failures else 0


def _generate(args: argparse.Namespace, directory: Path) -> int:
    # The selection `ocis server` makes: all but the optional ones when empty (OCIS_ADD_RUN_EXTENSIONS adds),
    # unknown names refused.
    names = deployment(args.extensions, os.environ)
    instances = config.parse_instances(args.instances, names, config.broker_count(os.environ))
    program_env = config.parse_program_env(args.program_env, names, instances)
    ocis, programs = config.layout(names, os.environ, args.portable, instances, args.broker, program_env)
    conf = config.write(directory, ocis, programs)
    print(f"wrote {conf} ({len(programs)} programs: {', '.join(p.program for p in programs)})")
    return 0


def _run(args: argparse.Namespace) -> int:
    directory: Path = args.dir or default_dir()
    try:
        if args.action == "generate":
            return _generate(args, directory)
        sup = Supervisor(directory)
        if args.action == "start":
            return _report(sup.start())
        if args.action == "status":
            rows = sup.status()
            if args.json:
                print_json(rows)
            else:
                print_table(rows, ["name", "state", "pid", "uptime"])
            return 0
        if args.action == "restart":
            name = canonical(args.name)
            failed = _report(sup.restart(name))
            if not failed:
                print(f"restarted {', '.join(sup.programs_of(name))}, one at a time")
            return failed
        if args.action == "reload":
            summary, failures = sup.reload()
            print(" ".join(f"{k}: {', '.join(v) or '-'}" for k, v in summary.items()))
            return _report(failures)
        pids = sup.stop()
        print(f"supervisord stopped ({len(pids)} processes exited)")
        return 0
    except (SupervisorError, config.GenerateError) as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 1


COMMAND = Command("supervisor", "generate and drive a supervisord deployment (one process per extension)", _setup, _run)
