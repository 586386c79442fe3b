"""A setting no restart can fix stops the start with exit 2 and one line; a repeating log line is cut short."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ocisd import logs
from tests.support.harness import Deployment, deployment

BAD_DRIVERS = [
    ("USERS_DRIVER", "users"),
    ("GROUPS_DRIVER", "groups"),
    ("STORAGE_USERS_DRIVER", "storage-users"),
    ("STORAGE_SYSTEM_DRIVER", "storage-system"),
]


@pytest.fixture(scope="module")
def inited() -> Iterator[Deployment]:
    """One `ocis init`ed deployment for all refusals: each comes before anything starts or is written."""
    with deployment() as dep:
        yield dep


@pytest.mark.parametrize(("var", "extension"), BAD_DRIVERS)
@pytest.mark.parametrize("mode", ["own", "runtime"])
def test_unknown_driver_refused_before_start(inited: Deployment, var: str, extension: str, mode: str) -> None:
    args = ("server",) if mode == "runtime" else (extension, "server")
    res = inited.ocis(*args, env={var: "nonsense"}, timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert f"{extension}.driver" in lines[0] and "nonsense" in lines[0]


def test_driver_naming_a_class_of_the_wrong_kind_refused(inited: Deployment) -> None:
    res = inited.ocis("users", "server", env={"USERS_DRIVER": "collections:OrderedDict"}, timeout=30)
    assert res.returncode == 2
    assert "is not a user backend" in res.stderr and len(res.stderr.splitlines()) == 1


def test_repeated_error_is_cut_to_a_burst_in_a_real_process() -> None:
    script = (
        "from ocisd import logs\n"
        "logs.setup('info')\n"
        "log = logs.get_logger('demo')\n"
        "for i in range(500):\n"
        "    log.error('backend unreachable', attempt=i)\n"
        "log.error('another event')\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    lines = res.stderr.splitlines()
    repeated = [line for line in lines if "backend unreachable" in line]
    assert 1 <= len(repeated) <= 10, lines[:20]
    assert any("another event" in line for line in lines)  # other events are not held back


def test_window_end_reports_how_many_were_dropped() -> None:
    now = [0.0]
    limit = logs.RepeatLimit(burst=2, window=10.0, clock=lambda: now[0])

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("ocisd.demo", level, __file__, 1, msg, None, None)

    assert [limit.filter(record("x")) for _ in range(5)] == [True, True, False, False, False]
    assert all(limit.filter(record("debug", logging.DEBUG)) for _ in range(50))
    now[0] = 10.0
    first = record("x")
    assert limit.filter(first)
    assert first.__dict__["ocisd_fields"] == {"suppressed": 3}
