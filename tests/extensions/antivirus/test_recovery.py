"""Antivirus and clamd failing mid-way, each extension its own program under supervisord:
a held revision is never let through unscanned, and completes once the scan can happen."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.core.test_supervisor import Sup
from tests.support import webdav_stack
from tests.support.clamd import Clamd, running_clamd
from tests.support.harness import Deployment, deployment, wait_until
from tests.support.processing import Worker
from tests.support.webdav_stack import DavStack

from . import dav as stack

pytestmark = pytest.mark.tools("clamd")


@dataclass
class Supervised:
    dep: Deployment
    sup: Sup
    clamd: Clamd
    dav: DavStack

    def antivirus_pid(self) -> int:
        return self.sup.pids()["ocis-antivirus"]

    def job(self, path: str) -> pb.Job | None:
        jobs = Worker(self.dep).call("ListJobs", pb.ListJobsRequest()).jobs
        return next((j for j in jobs if j.path == path), None)


@pytest.fixture(scope="module")
def supervised() -> Iterator[Supervised]:
    # clamd over TCP here: a scan in flight shows as antivirus's connection to its port.
    with running_clamd(tcp=True) as clamd, deployment() as dep, Sup(dep) as sup:
        env = stack.env(clamd, ANTIVIRUS_CLAMAV_SOCKET=clamd.tcp_address)
        sup.generate(env.pop("OCIS_RUN_EXTENSIONS"), env=env)  # the programs are named here
        sup.run("start")
        yield Supervised(dep, sup, clamd, webdav_stack.connect(dep, proxied=True))


def scanning(pid: int, clamd: Clamd) -> bool:
    """Whether antivirus `pid` holds a connection to clamd's port (a scan in flight)."""
    port = int(clamd.tcp_address.rsplit(":", 1)[1])
    return any(c.raddr and c.raddr.port == port for c in psutil.Process(pid).net_connections(kind="tcp"))


def test_clamd_down_holds_the_revision_until_it_is_back(supervised: Supervised) -> None:
    dav, clamd = supervised.dav, supervised.clamd
    clamd.stop()
    try:
        assert dav.request("PUT", "held.txt", b"wait for the scan").status == 201  # answered at once
        # Scans were tried and failed: still processing, never let through.
        wait_until(
            lambda: (j := supervised.job("/held.txt")) is not None and "clamd-unreachable" in j.last_error,
            stack.SETTLE,
            0.2,
            what="a failed scan attempt",
        )
        early = dav.request("GET", "held.txt")
        assert early.status == 425 and early.headers["Retry-After"]
        assert stack.prop(dav, "held.txt")["oc:processing-status"] == "processing"
        assert supervised.job("/held.txt").attempts == 0  # an unreachable peer costs no attempt
    finally:
        clamd.start()
    props = stack.settled(dav, "held.txt")
    assert (props["oc:processing-status"], props["oc:scan-status"]) == ("ready", "clean")
    assert dav.request("GET", "held.txt").body == b"wait for the scan"


def test_sigkill_of_antivirus_mid_scan_still_ends_ready(supervised: Supervised) -> None:
    dav, clamd = supervised.dav, supervised.clamd
    pid = supervised.antivirus_pid()
    assert clamd.pid is not None
    os.kill(clamd.pid, signal.SIGSTOP)  # clamd takes the stream and never answers: the scan hangs
    try:
        assert dav.request("PUT", "killed.txt", b"scanned twice").status == 201
        wait_until(lambda: scanning(pid, clamd), stack.SETTLE, 0.1, what="antivirus scanning")
        os.kill(pid, signal.SIGKILL)
    finally:
        os.kill(clamd.pid, signal.SIGCONT)
    wait_until(lambda: supervised.sup.pids().get("ocis-antivirus", pid) != pid, stack.SETTLE, what="a new antivirus")
    props = stack.settled(dav, "killed.txt")
    assert (props["oc:processing-status"], props["oc:scan-status"]) == ("ready", "clean")
    assert dav.request("GET", "killed.txt").body == b"scanned twice"
