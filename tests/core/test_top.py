"""`ocis top --once --json` lists every live process with its real PID and memory."""

from __future__ import annotations

import json
import os
import socket
import time

import psutil

from ocisd.bus.messages import InstanceRecord
from ocisd.top import Sampler
from tests.support.harness import Deployment


def test_top_once_json_lists_every_process(dep: Deployment) -> None:
    bus = dep.start_extension("bus")
    runtime = dep.start_runtime("hello")  # hello inside a runtime: its PID is the runtime's
    res = dep.ocis("top", "--once", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {r["name"]: r["pid"] for r in rows} == {"bus": bus.pid, "hello": runtime.pid}
    for row in rows:
        assert row["source"] == "local" and row["health"] == "ready" and row["host"] == socket.gethostname()
        assert 0 < row["uss"] <= row["rss"] and row["cpu_percent"] >= 0 and row["uptime"] >= 0


def record(pid: int, started: float, stats: dict[str, float] | None = None) -> InstanceRecord:
    return InstanceRecord("x", "i1", socket.gethostname(), pid, started, stats=stats or {})


def test_reused_pid_is_not_measured() -> None:
    me = psutil.Process()
    sampler = Sampler()
    assert sampler.process(record(os.getpid(), time.time())) is not None
    # An instance that started before this process existed cannot be this process: the PID was reused.
    stale = record(os.getpid(), me.create_time() - 60, {"rss": 123.0})
    assert sampler.process(stale) is None
    (row,) = sampler.measure([stale], socket.gethostname())
    assert (row.source, row.rss, row.uss) == ("heartbeat", 123, None)
