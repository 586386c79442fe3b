"""`ocis orchestrate check` passes in both process models and leaves no process behind."""

from __future__ import annotations

import re
import subprocess

import psutil
import pytest

from tests.support.harness import BIN, Deployment


def processes_under(root: str) -> list[int]:
    """PIDs whose command line or environment names `root` (supervisord, its programs)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if any(root in part for part in proc.cmdline()) or proc.environ().get("OCIS_CONFIG_DIR", "").startswith(
                root
            ):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("mode", ["supervisor", "runtime"])
def test_orchestrate_check_passes(mode: str) -> None:
    res = subprocess.run(
        [str(BIN / "ocis"), "orchestrate", "check", "--mode", mode, "--duration", "20", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "acknowledged work lost 0" in res.stdout and "PASS" in res.stdout
    # SIGKILL, SIGSTOP and restart all happened, the broker among the targets.
    for fault in ("SIGKILL", "SIGSTOP", "restart"):
        assert fault in res.stdout
    assert re.search(r"^\S+\s+bus\s", res.stdout, re.M)
    match = re.search(r"deployment in (\S+)", res.stdout)
    assert match is not None
    assert processes_under(match.group(1)) == []


def test_runtime_restarts_after_sigkill_despite_time_wait(dep: Deployment) -> None:
    """Regression: the control endpoint bound without SO_REUSEADDR, so a runtime restarted
    after a SIGKILL failed for a minute on the TIME_WAIT connections `ocis list` had left."""
    first = dep.start_runtime("bus")
    dep.runtime_list()  # the server closes these connections: TIME_WAIT on the control port
    first.kill()
    again = dep.start_runtime("bus")
    assert [r["pid"] for r in dep.runtime_list()] == [again.pid]
