"""`ocis orchestrate check [--mode supervisor|runtime] [--duration S] [--seed N] [--extensions A,B] [--json]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

from ocisd.cli.command import Command, print_table
from ocisd.discovery import installed, split_names
from ocisd.orchestrate.check import RECOVERY_LIMIT, Report, Result, deployed, run_check
from ocisd.orchestrate.deployment import MODES
from ocisd.orchestrate.faults import Fault, named, schedule


def _extensions(value: str) -> list[str]:
    known = list(installed())
    chosen = split_names(value)
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"not installed: {', '.join(unknown) or '(none given)'}; installed: {', '.join(known)}"
        )
    return chosen


def _setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser(
        "check",
        help="start a temp deployment, run greets and file work, inject seeded faults, report recovery",
        description=(
            "Start a deployment in a temp dir of the extensions `ocis server` would run (OCIS_RUN_EXTENSIONS, "
            "OCIS_ADD_RUN_EXTENSIONS, OCIS_EXCLUDE_RUN_EXTENSIONS; every non-optional one by default), run greets "
            "and a WebDAV file "
            "workload through the proxy (PUTs, chunked uploads, GETs verifying content, PROPFINDs, MOVEs) and "
            "inject SIGKILL, SIGSTOP/SIGCONT and restarts of random extensions (the broker included). Exit 1 "
            f"when one is not healthy within {RECOVERY_LIMIT:.0f} s or an acknowledged upload was lost."
        ),
    )
    c.add_argument("--mode", choices=MODES, default="supervisor", help="one process per extension, or the runtime")
    c.add_argument("--duration", type=float, default=60.0, help="seconds of faults (default 60)")
    c.add_argument("--seed", type=int, default=1, help="seed of the fault schedule and the file contents (default 1)")
    c.add_argument(
        "--extensions",
        type=_extensions,
        default=None,
        metavar="A,B,...",
        help="extensions faults may hit (default every deployed one, bus included); in runtime mode a "
        "SIGKILL or SIGSTOP of any of them hits the runtime process",
    )
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout; progress goes to stderr")
    c.add_argument(
        "--fault",
        type=_fault,
        default=None,
        metavar="FAULT",
        help="inject just this fault instead of the seeded schedule: 'bus-outage 30s' (the only broker SIGSTOPped "
        "that long, then SIGKILLed and restarted by supervisord; supervisor mode) or 'broker-kill' (with "
        "--brokers 2: the second broker SIGKILLed for good)",
    )
    c.add_argument("--brokers", type=int, choices=(1, 2), default=1, help="bus brokers in the deployment (default 1)")


def _fault(text: str) -> Fault:
    try:
        return named(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _faults(args: argparse.Namespace) -> list[Fault]:
    """The named fault, or (far more than fit: the duration ends the run) the seeded schedule."""
    fault: Fault | None = args.fault
    names = deployed()
    outside = [n for n in args.extensions or () if n not in names]
    if outside:
        raise ValueError(f"--extensions names {', '.join(outside)}, not in the deployment: {', '.join(names)}")
    if fault is None:
        return schedule(args.seed, args.extensions or names, count=max(1, int(args.duration)))
    if fault.kind == "broker-kill" and args.brokers < 2:
        raise ValueError("broker-kill needs --brokers 2: with one broker, killing it for good stops the bus")
    if fault.kind == "bus-outage" and (args.brokers > 1 or args.mode != "supervisor"):
        raise ValueError("bus-outage stops the only broker: --brokers 1 in supervisor mode")
    return [fault]


def _secs(value: float | None) -> str:
    return f"{value:.2f}s" if value is not None else f">{RECOVERY_LIMIT:.0f}s"


def _row(r: Result) -> dict[str, object]:
    return {
        "at": f"{r.at:.1f}s",
        "extension": r.fault.extension,
        "fault": r.fault.label,
        "registry": _secs(r.registry),
        "workload": _secs(r.workload),
        "failed": r.failed,
        "result": "ok" if r.recovered else "NOT RECOVERED",
    }


def _print_report(report: Report, seed: int) -> None:
    print(f"\nfaults ({report.mode} mode, seed {seed}):")
    print_table([_row(r) for r in report.results], ["at", "extension", "fault", "registry", "workload", "failed"])
    for r in report.results:
        if r.diagnosis:
            print(f"\nnot recovered: {r.fault.label} {r.fault.extension} at {r.at:.1f}s: {r.diagnosis}")
    print(
        f"\nrequests tried {report.tried}, failed {report.failed}, uploads acknowledged {report.acknowledged}, "
        f"acknowledged work lost {report.lost}; "
        f"{sum(r.recovered for r in report.results)}/{len(report.results)} faults recovered within "
        f"{RECOVERY_LIMIT:.0f} s: {'PASS' if report.ok else 'FAIL'}"
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def report_json(report: Report, seed: int) -> dict[str, object]:
    """The `--json` document; a fault not recovered has null registry_s or workload_s."""
    return {
        "mode": report.mode,
        "seed": seed,
        "faults": [
            {
                "at": round(r.at, 3),
                "extension": r.fault.extension,
                "fault": r.fault.label,
                "registry_s": _rounded(r.registry),
                "workload_s": _rounded(r.workload),
                "failed": r.failed,
            }
            for r in report.results
        ],
        "requests": report.tried,
        "failed": report.failed,
        "uploads_acknowledged": report.acknowledged,
        "lost": report.lost,
        "passed": report.ok,
    }


def _say(to_stderr: bool) -> Callable[[str], None]:
    out = sys.stderr if to_stderr else sys.stdout
    return lambda text: print(text, file=out, flush=True)


def _run(args: argparse.Namespace) -> int:
    say = _say(args.json)
    try:
        faults = _faults(args)
    except ValueError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 2
    duration = None if args.fault else args.duration
    if args.fault:
        say(f"orchestrate check: {args.mode} mode, {args.brokers} broker(s), fault {args.fault.label}")
    else:
        say(f"orchestrate check: {args.mode} mode, {args.duration:.0f} s of faults, seed {args.seed}")

    def progress(r: Result) -> None:
        say(f"  {r.fault.label} {r.fault.extension}: healthy again after {_secs(r.workload)}")
        if r.diagnosis and args.json:  # the text report ends with it
            say(f"    not recovered: {r.diagnosis}")

    try:
        report = asyncio.run(run_check(args.mode, faults, duration, progress, args.seed, say, args.brokers))
    except RuntimeError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report_json(report, args.seed), indent=2))
    else:
        _print_report(report, args.seed)
    return 0 if report.ok else 1


COMMAND = Command("orchestrate", "test that a deployment survives faults (ocis orchestrate check)", _setup, _run)
