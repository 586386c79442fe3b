"""`ocis orchestrate check` passes in both process models and leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from ocisd.orchestrate.check import Result, run_check
from ocisd.orchestrate.faults import Fault
from tests.support import sets
from tests.support.harness import BIN, Deployment, kill_supervisor

# Behind the proxy, the broker included; the proxy itself is the one front door a client connects to.
RESTARTED = ("bus", "hello", "ocdav", "gateway", "storage-users", "auth-basic", "users")


@pytest.fixture(autouse=True)
def workload_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks deploy what `ocis server` would run here: the workload's set, not every default extension."""
    monkeypatch.setenv("OCIS_RUN_EXTENSIONS", sets.join(sets.ORCHESTRATE))


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
        [str(BIN / "ocis"), "orchestrate", "check", "--mode", mode, "--duration", "20", "--seed", "1"]
        + ["--extensions", "bus,proxy,storage-users"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "acknowledged work lost 0" in res.stdout and "PASS" in res.stdout
    assert int(re.findall(r"uploads acknowledged (\d+)", res.stdout)[0]) > 0
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


def _blobs(root: Path) -> list[Path]:
    """Committed blobs of storage-users (not the temp files of uploads in progress, which come and go)."""
    return [p for p in root.glob("data/**/blobs/**/*") if p.is_file() and "users" in str(p) and p.parent.name != "tmp"]


def test_orchestrate_json_faults_only_selected_and_lost_upload_detected() -> None:
    """--json prints one document on stdout; faults hit only --extensions; an acknowledged
    upload whose blob vanished behind the server's back is counted lost and fails the check."""
    proc = subprocess.Popen(
        [str(BIN / "ocis"), "orchestrate", "check", "--duration", "8", "--seed", "2"]
        + ["--extensions", "storage-users", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    root: Path | None = None
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            match = re.search(r"deployment in (\S+)", line)
            if match:
                root = Path(match.group(1))
                break
        assert root is not None
        deadline = time.monotonic() + 120
        while len(_blobs(root)) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        removed = _blobs(root)
        for blob in removed:
            blob.unlink()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            if root is not None:  # killed, it cannot stop its deployment's supervisord: we do
                kill_supervisor(root / "sup")
    assert removed
    assert proc.returncode == 1, err
    doc = json.loads(out)
    assert set(doc) == {"mode", "seed", "faults", "requests", "failed", "uploads_acknowledged", "lost", "passed"}
    assert doc["mode"] == "supervisor" and doc["seed"] == 2 and doc["passed"] is False
    assert doc["uploads_acknowledged"] > 0 and doc["lost"] > 0
    assert doc["requests"] > doc["failed"] >= 0
    assert doc["faults"] and {f["extension"] for f in doc["faults"]} == {"storage-users"}
    for fault in doc["faults"]:
        assert set(fault) == {"at", "extension", "fault", "registry_s", "workload_s", "failed"}
    assert processes_under(str(root)) == []


@pytest.mark.parametrize("mode", ["supervisor", "runtime"])
def test_restart_faults_fail_no_request(mode: str) -> None:
    """A planned restart of one extension (rolling under supervisord, stop and start in the runtime)
    costs greets and WebDAV requests through the proxy a pause, never a failure."""
    results: list[Result] = []
    faults = [Fault(name, "restart", 1.0) for name in RESTARTED]
    report = asyncio.run(run_check(mode, faults, None, results.append, say=lambda _: None))
    assert report.ok and report.lost == 0
    assert [r.fault.extension for r in results] == list(RESTARTED)
    assert {r.fault.extension: r.failed for r in results} == dict.fromkeys(RESTARTED, 0), results


def test_bus_faults_are_refused_where_they_cannot_apply(bare: Deployment) -> None:
    """`--fault` names a bus fault; one that cannot apply to the deployment asked for is refused before
    anything starts (the faults themselves run in tests/core/test_bus_outage.py)."""
    for args, said in (
        (["--fault", "broker-kill"], "broker-kill needs --brokers 2"),
        (["--fault", "bus-outage 30s", "--brokers", "2"], "bus-outage stops the only broker"),
        (["--fault", "bus-outage 30s", "--mode", "runtime"], "bus-outage stops the only broker"),
        (["--fault", "bus-outage soon"], "expected 'bus-outage <seconds>s' or 'broker-kill'"),
    ):
        res = bare.ocis("orchestrate", "check", *args)
        assert res.returncode == 2 and said in res.stderr, res.stderr
        assert "deployment in" not in res.stdout


def test_a_check_deploys_what_ocis_server_would_and_refuses_what_it_cannot_run(bare: Deployment) -> None:
    """The deployment is the selection of OCIS_RUN_EXTENSIONS & co.: faults for an extension outside it,
    or a selection the workload cannot run on, are refused with exit 2 before anything starts."""
    webdav_only = {"OCIS_RUN_EXTENSIONS": sets.join(sets.WEBDAV)}
    for args, env, said in (
        (["--extensions", "sharing"], {}, "--extensions names sharing, not in the deployment"),
        ([], webdav_only, "the workload needs hello in the deployment"),
    ):
        res = bare.ocis("orchestrate", "check", *args, env={"OCIS_RUN_EXTENSIONS": sets.join(sets.ORCHESTRATE), **env})
        assert res.returncode == 2 and said in res.stderr, res.stderr
        assert "deployment in" not in res.stdout
