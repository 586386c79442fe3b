"""`ocis orchestrate check [--mode supervisor|runtime] [--duration S] [--seed N]`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ocisd.cli.command import Command, print_table
from ocisd.orchestrate.check import RECOVERY_LIMIT, Report, Result, run_check
from ocisd.orchestrate.deployment import MODES
from ocisd.orchestrate.faults import schedule
from ocisd.orchestrate.workload import Greets


def _setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser(
        "check",
        help="start a temp deployment, run greets, inject seeded faults, report recovery",
        description=(
            "Start a deployment in a temp dir, run a workload and inject SIGKILL, SIGSTOP/SIGCONT and restarts "
            f"of random extensions (the broker included). Exit 1 when one is not healthy within "
            f"{RECOVERY_LIMIT:.0f} s or acknowledged work was lost."
        ),
    )
    c.add_argument("--mode", choices=MODES, default="supervisor", help="one process per extension, or the runtime")
    c.add_argument("--duration", type=float, default=60.0, help="seconds of faults (default 60)")
    c.add_argument("--seed", type=int, default=1, help="seed of the fault schedule (default 1)")


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


def _progress(r: Result) -> None:
    print(f"  {r.fault.label} {r.fault.extension}: healthy again after {_secs(r.workload)}", flush=True)


def _print_report(report: Report, seed: int) -> None:
    print(f"\nfaults ({report.mode} mode, seed {seed}):")
    print_table([_row(r) for r in report.results], ["at", "extension", "fault", "registry", "workload", "failed"])
    for r in report.results:
        if r.diagnosis:
            print(f"\nnot recovered: {r.fault.label} {r.fault.extension} at {r.at:.1f}s: {r.diagnosis}")
    print(
        f"\nrequests tried {report.tried}, failed {report.failed}, acknowledged work lost {report.lost}; "
        f"{sum(r.recovered for r in report.results)}/{len(report.results)} faults recovered within "
        f"{RECOVERY_LIMIT:.0f} s: {'PASS' if report.ok else 'FAIL'}"
    )


def _run(args: argparse.Namespace) -> int:
    # Far more faults than fit: the duration ends the run.
    faults = schedule(args.seed, Greets.extensions, count=max(1, int(args.duration)))
    print(f"orchestrate check: {args.mode} mode, {args.duration:.0f} s of faults, seed {args.seed}", flush=True)
    try:
        report = asyncio.run(run_check(args.mode, faults, args.duration, _progress))
    except RuntimeError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 1
    _print_report(report, args.seed)
    return 0 if report.ok else 1


COMMAND = Command("orchestrate", "test that a deployment survives faults (ocis orchestrate check)", _setup, _run)
