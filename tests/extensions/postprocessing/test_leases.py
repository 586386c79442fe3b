"""Leases: a SIGKILLed postprocessing under supervisord leaves nothing stuck, and two instances
never run the same revision's steps twice (renewed leases keep a long step with its worker)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocisd.api.postprocessing.v1 import contract
from ocisd.supervisor.control import Supervisor
from tests.support import webdav_stack
from tests.support.harness import Deployment, free_port, kill_supervisor, wait_until

from .flow import EVENTS, Listener, list_jobs, status, step_runs

pytestmark = pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy")
PROGRAM = "ocis-postprocessing"
# A step longer than the lease: only renewals keep the job with its worker.
HELD = {
    "POSTPROCESSING_STEPS": "delay",
    "POSTPROCESSING_DELAY": "3s",
    "POSTPROCESSING_LEASE_TIME": "2s",
    "POSTPROCESSING_POLL_INTERVAL": "1s",
    "PROXY_ACCESS_LOG": "false",
}


@pytest.fixture
def dav(dep: Deployment) -> webdav_stack.DavStack:
    """The file stack in one runtime, without postprocessing: each test runs its own."""
    dep.start_runtime(webdav_stack.names(True), env=HELD)
    return webdav_stack.connect(dep, proxied=True)


@pytest.fixture
def listener(dep: Deployment) -> Iterator[Listener]:
    heard = Listener(dep)
    yield heard
    heard.close()


def supervised_pid(directory: Path) -> int:
    rows = {r["name"]: r for r in Supervisor(directory).status()}
    row = rows.get(PROGRAM, {})
    return int(row["pid"]) if row.get("state") == "RUNNING" else 0


def test_sigkill_mid_step_under_supervisord_ends_ready_once(
    dep: Deployment, dav: webdav_stack.DavStack, listener: Listener
) -> None:
    sup = dep.root / "sup"
    try:
        for action in (["generate", "--extensions", "postprocessing"], ["start"]):
            res = dep.ocis("supervisor", *action, "--dir", str(sup), env=HELD)
            assert res.returncode == 0, res.stderr
        dep.wait_ready("postprocessing")
        first = supervised_pid(sup)
        assert dav.request("PUT", "kill.txt", b"survives a SIGKILL").status == 201
        wait_until(lambda: [j.state for j in list_jobs(dep)] == ["leased"], 30, 0.1, what="the job leased")
        assert dav.request("GET", "kill.txt").status == 425
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: dav.request("GET", "kill.txt").status == 200, 90, 0.25, what="kill.txt ready")
        assert dav.request("GET", "kill.txt").body == b"survives a SIGKILL"
        second = supervised_pid(sup)
        assert second not in (0, first)  # supervisord restarted it; the new instance ran the step again
        assert step_runs(dep) == 1
        rid = status(dav, "kill.txt")["id"]
        wait_until(lambda: listener.of(contract.FILE_READY, rid), 30, what="file-ready")
        assert len(listener.of(contract.POSTPROCESSING_FINISHED, rid)) == 1
        assert list_jobs(dep) == []
    finally:
        kill_supervisor(sup)


def test_two_instances_never_process_a_revision_twice(
    dep: Deployment, dav: webdav_stack.DavStack, listener: Listener
) -> None:
    workers = [{"POSTPROCESSING_CONCURRENCY": "2", **HELD}]
    workers.append({**workers[0], "POSTPROCESSING_DEBUG_ADDR": f"127.0.0.1:{free_port()}"})
    for env in workers:
        dep.start_extension("postprocessing", env=env)
    names = [f"f{i}.txt" for i in range(6)]
    for name in names:
        assert dav.request("PUT", name, name.encode()).status == 201
    for name in names:
        wait_until(lambda n=name: dav.request("GET", n).status == 200, 90, 0.25, what=f"{name} ready")
    rids = {status(dav, n)["id"] for n in names}
    wait_until(lambda: all(listener.of(contract.FILE_READY, r) for r in rids), 30, what="every file-ready")
    assert sum(step_runs(dep, env) for env in workers) == len(names)
    for rid in rids:
        assert len(listener.of(contract.POSTPROCESSING_FINISHED, rid)) == 1
    assert {e for e, _ in listener.events} <= set(EVENTS)


def test_sigterm_lets_the_running_step_finish(dep: Deployment, dav: webdav_stack.DavStack) -> None:
    worker = dep.start_extension("postprocessing", env=HELD)
    assert dav.request("PUT", "graceful.txt", b"finished before exit").status == 201
    wait_until(lambda: [j.state for j in list_jobs(dep)] == ["leased"], 30, 0.1, what="the job leased")
    assert worker.stop(timeout=30) == 0
    # No other worker runs: the stopping one completed the job before it exited.
    assert status(dav, "graceful.txt")["processing-status"] == contract.READY
    assert list_jobs(dep) == []
    assert "job completed" in worker.output()
