"""Generated systemd units pass `systemd-analyze verify`; `ocis <name> server` speaks the notify protocol."""

from __future__ import annotations

import array
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ocisd.supervisor.config import MIN_FDS
from tests.support import tools
from tests.support.harness import Deployment


def verify(dep: Deployment, units: Path, user: bool) -> None:
    # An instance of the template, as systemctl would start it.
    (units / "ocisd@hello.service").symlink_to("ocisd@.service")
    env = dict(dep.env)
    args = [tools.require("systemd-analyze"), "--man=no"]
    if user:
        runtime_dir = dep.root / "xdg"
        runtime_dir.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
        args.append("--user")
    res = subprocess.run(
        [*args, "verify", "ocisd@hello.service", "ocisd.target"],
        cwd=units,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on mere warnings (unknown keys, bad values): any output is a finding.
    assert (res.returncode, res.stdout + res.stderr) == (0, "")


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_units_verify(dep: Deployment, user: bool) -> None:
    units = dep.root / "units"
    res = dep.ocis("systemd", "generate", "--dir", str(units), *(["--user"] if user else []))
    assert res.returncode == 0, res.stderr
    service = (units / "ocisd@.service").read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "RestartSec=2",
        "RestartPreventExitStatus=2",
        "PartOf=ocisd.target",
        "NoNewPrivileges=yes",
        "WatchdogSec=30",
        "StartLimitBurst=5",
        f"LimitNOFILE={MIN_FDS}",
        "UMask=0077",
    ):
        assert line in service.splitlines()
    assert service.index("StartLimitIntervalSec") < service.index("[Service]")
    assert "%i server" in service
    if not user:
        assert "ProtectSystem=strict" in service
        assert f'ReadWritePaths="{dep.data_dir}"' in service
    wants = next(x for x in (units / "ocisd.target").read_text().splitlines() if x.startswith("Wants="))
    assert "ocisd@bus.service" in wants and "ocisd@hello.service" in wants
    verify(dep, units, user)


def receive(sock: socket.socket, until: str, deadline: float) -> list[tuple[int, str]]:
    """Notify datagrams with the sender's PID (SO_PASSCRED), up to and including one holding `until`."""
    got: list[tuple[int, str]] = []
    creds_size = socket.CMSG_SPACE(array.array("i", [0, 0, 0]).itemsize * 3)
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, ancdata, _, _ = sock.recvmsg(4096, creds_size)
        except TimeoutError:
            break
        pid = next((array.array("i", cdata)[0] for level, kind, cdata in ancdata if kind == socket.SCM_CREDENTIALS), 0)
        got.append((pid, data.decode()))
        if until in data.decode().splitlines():
            break
    return got


def test_server_speaks_notify_protocol(dep: Deployment) -> None:
    path = dep.root / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        # WATCHDOG_USEC=400 ms: the server must ping every 200 ms.
        proc = dep.spawn("bus", "bus", "server", env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
        ready = receive(sock, "READY=1", time.monotonic() + 30)
        assert ready and "READY=1" in ready[-1][1].splitlines(), proc.output()
        pings = receive(sock, "WATCHDOG=1", time.monotonic() + 5)
        assert pings and pings[-1][1] == "WATCHDOG=1"
        os.kill(proc.pid, signal.SIGTERM)
        stopping = receive(sock, "STOPPING=1", time.monotonic() + 10)
        assert stopping and stopping[-1][1] == "STOPPING=1"
        assert proc.popen.wait(20) == 0
        # Every datagram came from the server's own PID (systemd's NotifyAccess=main).
        assert {pid for pid, _ in ready + pings + stopping} == {proc.pid}
