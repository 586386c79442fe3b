"""Hosts on one machine: network namespaces A, B, C on one switch, each with its own address and host name.

The switch is a fourth namespace holding a bridge, so nothing here touches the
machine's own interfaces or routes. Each host has a veth to the bridge, an
address in a private /24 unique to this test run, loopback up and a default
route over its link (so a process finds its address the way it would on a real
machine). Commands run inside a host through `ip netns exec` and a UTS
namespace of their own carrying the host's name, as on three machines. The
switch's end of the bridge has an address too: clients run there (`CLIENT`),
outside every host.

`link_down(host)` pulls the host's cable (the switch's port goes down; the host
keeps its address and routes, as a machine whose cable is pulled), `link_up`
plugs it back. `close()` kills whatever still runs in the namespaces, by PID,
and deletes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import psutil

HOSTS = ("a", "b", "c")
CLIENT = "switch"
BRIDGE = "br0"
HOST_LINK = "eth0"


class Hosts:
    """Three hosts on a switch; `address(host)`, `run(host, argv)`, `popen(host, argv)`, `link_down/up(host)`."""

    def __init__(self, tag: str | None = None) -> None:
        tag = tag or str(os.getpid())
        self.tag = tag
        self.subnet = f"10.203.{int(tag) % 256 if tag.isdigit() else 7}"
        self.namespaces = {h: f"oc{tag}{h}" for h in (*HOSTS, CLIENT)}
        self._created: list[str] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def address(self, host: str) -> str:
        return f"{self.subnet}.{HOSTS.index(host) + 1}" if host in HOSTS else f"{self.subnet}.254"

    def hostname(self, host: str) -> str:
        return f"host-{host}-{self.tag}"

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)

    def _build(self) -> None:
        sw = self.namespaces[CLIENT]
        for ns in self.namespaces.values():
            self.ip("netns", "add", ns)
            self._created.append(ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        self.ip("-n", sw, "link", "add", BRIDGE, "type", "bridge")
        self.ip("-n", sw, "addr", "add", f"{self.address(CLIENT)}/24", "dev", BRIDGE)
        self.ip("-n", sw, "link", "set", BRIDGE, "up")
        for host in HOSTS:
            ns = self.namespaces[host]
            self.ip("-n", sw, "link", "add", self._port(host), "type", "veth", "peer", "name", HOST_LINK, "netns", ns)
            self.ip("-n", sw, "link", "set", self._port(host), "master", BRIDGE, "up")
            self.ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", HOST_LINK)
            self.ip("-n", ns, "link", "set", HOST_LINK, "up")
            self.ip("-n", ns, "route", "add", "default", "dev", HOST_LINK)

    @staticmethod
    def _port(host: str) -> str:
        return f"port-{host}"

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """`argv` as run inside `host`: its network namespace, and a UTS namespace with its host name."""
        ns = self.namespaces[host]
        inner = ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname(host), *argv]
        return ["ip", "netns", "exec", ns, *inner]

    def run(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside `host` to completion (text output captured unless told otherwise)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("timeout", 120)
        return subprocess.run(self.command(host, argv), text=True, **kw)

    def popen(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[bytes]:
        """Start `argv` inside `host` in a session of its own; `close()` stops it by PID if it still runs."""
        return subprocess.Popen(self.command(host, argv), start_new_session=True, **kw)

    def link_down(self, host: str) -> None:
        self.ip("-n", self.namespaces[CLIENT], "link", "set", self._port(host), "down")

    def link_up(self, host: str) -> None:
        self.ip("-n", self.namespaces[CLIENT], "link", "set", self._port(host), "up")

    def pids(self, host: str) -> list[int]:
        """Processes inside `host`'s network namespace."""
        res = subprocess.run(["ip", "netns", "pids", self.namespaces[host]], capture_output=True, text=True)
        return [int(p) for p in res.stdout.split()]

    def close(self) -> None:
        pids = [pid for h, ns in self.namespaces.items() if ns in self._created for pid in self.pids(h)]
        for sig in (signal.SIGSTOP, signal.SIGKILL):  # stopped first: no supervisor restarts what is killed
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
        psutil.wait_procs([p for p in map(_process, pids) if p is not None], timeout=10)
        for ns in reversed(self._created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        self._created.clear()

    def __enter__(self) -> Hosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
