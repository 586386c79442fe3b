"""Restarts nobody notices: a graceful stop drains, the proxy and the rpc client wait for an instance.

Clients keep calling while the only instance of an extension restarts or is
SIGKILLed; the tests count failures (none allowed) and print the longest pause,
never asserting a duration: the waits are set generously for a busy machine.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import threading
import time
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterator

import psutil
import pytest

from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.node import Node
from tests.core.test_supervisor import Sup
from tests.support.harness import Deployment, http_get, http_json, wait_until
from tests.support.webdav_stack import ADMIN, PASSWORD

RUNTIME = "bus,users,groups,auth-basic,gateway,storage-users,proxy"
WAITS = {"PROXY_NO_INSTANCE_WAIT": "30s", "OCIS_GRPC_NO_INSTANCE_WAIT": "30s", "PROXY_TLS": "false"}
AUTH = {"Authorization": "Basic " + b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()}
FILES = f"/remote.php/dav/files/{ADMIN}"
EVERY = 0.05  # seconds between a client's requests

Call = Callable[[], tuple[bool, str]]  # (succeeded, what happened)


RESET = "Connection reset by peer"


class Caller(threading.Thread):
    """Calls `call` every 50 ms until stopped, keeping (began, ended, ok, detail) of every call."""

    def __init__(self, name: str, call: Call) -> None:
        super().__init__(name=name, daemon=True)
        self.call = call
        self.results: list[tuple[float, float, bool, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            began = time.monotonic()
            try:
                ok, detail = self.call()
            except Exception as exc:
                ok, detail = False, repr(exc)
            self.results.append((began, time.monotonic(), ok, detail))
            self.halt.wait(EVERY)

    def succeeded_after(self, moment: float) -> bool:
        return any(ok and began > moment for began, _, ok, _ in list(self.results))

    def failures(self, kills: tuple[tuple[float, float], ...] = ()) -> list[str]:
        """Failed calls, but those in flight at a SIGKILL: begun before the killed process was gone
        (a kill window (os.kill, gone)), or written meanwhile on a kept-alive connection to it, which
        its death reset before the client noticed (a reset before this caller's next success)."""

        def in_flight(began: float, ended: float, detail: str) -> bool:
            for start, gone in kills:
                if began <= gone and start <= ended:
                    return True
                if RESET in detail and start <= began and not self.succeeded_between(start, began):
                    return True
            return False

        return [detail for began, ended, ok, detail in self.results if not ok and not in_flight(began, ended, detail)]

    def succeeded_between(self, start: float, until: float) -> bool:
        return any(ok and start <= began <= until for began, _, ok, _ in self.results)

    def longest_pause(self, since: float, until: float) -> float:
        """The longest time between two successful answers within [since, until], counted from the
        last one before `since`."""
        ends = [ended for _, ended, ok, _ in self.results if ok and ended <= until]
        before = [e for e in ends if e < since][-1:]
        ends = before + [e for e in ends if e >= since]
        return max((b - a for a, b in zip(ends, ends[1:])), default=0.0)


class GrpcCaller(Caller):
    """Greets through the registry, as an extension does, from its own event loop."""

    def __init__(self, dep: Deployment) -> None:
        super().__init__("grpc", lambda: (False, "not started"))
        self.shared = loader.load(None, None, installed(), {**dep.env, **WAITS}).shared

    def run(self) -> None:
        asyncio.run(self._calls())

    async def _calls(self) -> None:
        node = Node(self.shared)
        await node.start(snapshot=True)
        stub = node.rpc.stub("hello", hello_pb2_grpc.HelloStub)
        try:
            while not self.halt.is_set():
                began = time.monotonic()
                try:
                    reply = await stub.Greet(hello_pb2.GreetRequest(name="Rpc"), timeout=60)
                    ok, detail = reply.message == "Hello Rpc", reply.message
                except Exception as exc:
                    ok, detail = False, repr(exc)
                self.results.append((began, time.monotonic(), ok, detail))
                await asyncio.sleep(EVERY)
        finally:
            await node.close()


def gone(pid: int) -> float:
    """When the killed process `pid` (supervisord's child) was seen dead: a call begun before then
    may still have reached it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.005)
    return time.monotonic()


def greet(proxy: str) -> tuple[bool, str]:
    status, body = http_json(f"http://{proxy}/api/v0/greet", {"name": "Ada"}, timeout=60)
    return status == 200 and body == {"message": "Hello Ada"}, f"{status} {body}"


def dav(proxy: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{proxy}{FILES}/{path}", data=body, method=method, headers=AUTH)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def dav_get(proxy: str) -> tuple[bool, str]:
    status, body = dav(proxy, "GET", "steady.txt")
    return status == 200 and body == b"steady", f"{status} {body[:80]!r}"


@pytest.fixture
def stack(dep: Deployment) -> Iterator[tuple[Deployment, Sup]]:
    """The runtime serves everything but hello and ocdav, whose only instances supervisord runs."""
    dep.env.update(WAITS)
    rt = dep.start_runtime(RUNTIME, wait=False)
    dep.wait_runtime(rt, RUNTIME.split(","))
    sup = Sup(dep)
    try:
        sup.generate("hello,ocdav")
        sup.run("start")
        proxy = dep.addr("proxy", "http_addr")
        wait_until(lambda: greet(proxy)[0], 30, what="greets through the proxy")
        wait_until(lambda: dav(proxy, "PUT", "steady.txt", b"steady")[0] in (201, 204), 30, what="WebDAV upload")
        yield dep, sup
    finally:
        sup.close()


def _measured(callers: list[Caller], event: str, since: float) -> None:
    """Wait until every caller succeeded with a request begun after `since`; print the pauses."""
    for c in callers:
        wait_until(lambda c=c: c.succeeded_after(since), 60, what=f"{c.name} answered after {event}")
    now = time.monotonic()
    print(f"{event}: longest pause " + ", ".join(f"{c.name} {c.longest_pause(since, now):.2f}s" for c in callers))


def test_restart_and_sigkill_of_the_only_instance_fail_no_request(stack: tuple[Deployment, Sup]) -> None:
    dep, sup = stack
    proxy = dep.addr("proxy", "http_addr")
    callers = [Caller("greet", lambda: greet(proxy)), Caller("webdav", lambda: dav_get(proxy)), GrpcCaller(dep)]
    kills: list[tuple[float, float]] = []  # from os.kill until the process is gone
    for c in callers:
        c.start()
    try:
        _measured(callers, "start", 0)
        for name in ("hello", "ocdav"):
            began = time.monotonic()
            sup.run("restart", name)
            _measured(callers, f"restart {name}", began)
        for name in ("hello", "ocdav"):
            pid = sup.pids()[f"ocis-{name}"]
            began = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            kills.append((began, gone(pid)))
            program = f"ocis-{name}"
            wait_until(lambda p=program, k=pid: sup.pids().get(p, k) != k, 60, what=f"supervisord restarting {name}")
            _measured(callers, f"SIGKILL {name}", began)
    finally:
        for c in callers:
            c.halt.set()
        for c in callers:
            c.join(90)
    # A WebDAV GET is safe to send again, so even one in flight at a SIGKILL is retried. A greet (POST
    # with a body, or a gRPC call of unknown effect) in flight at the kill may fail: never retried.
    in_flight = {"webdav": ()}
    assert {c.name: c.failures(in_flight.get(c.name, tuple(kills))) for c in callers} == {c.name: [] for c in callers}
    assert all(len(c.results) > 10 for c in callers)


PIECE, PIECES = b"x" * 65536, 64


def start_put(proxy: str, name: str) -> http.client.HTTPConnection:
    """A PUT of PIECES pieces with its first quarter sent."""
    conn = http.client.HTTPConnection(proxy, timeout=60)
    conn.putrequest("PUT", f"{FILES}/{name}")
    for key, value in {**AUTH, "Content-Length": str(len(PIECE) * PIECES)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    for _ in range(PIECES // 4):
        conn.send(PIECE)
    return conn


def finish_put(conn: http.client.HTTPConnection) -> str:
    """Send the rest; the answer's status and start, or the error."""
    try:
        for _ in range(PIECES - PIECES // 4):
            conn.send(PIECE)
        resp = conn.getresponse()
        return f"{resp.status} {resp.read()[:200]!r}"
    except OSError as exc:  # the proxy may cut the connection while the body still comes
        return repr(exc)
    finally:
        conn.close()


def test_put_in_flight_survives_a_restart_but_is_not_retried_after_a_sigkill(stack: tuple[Deployment, Sup]) -> None:
    dep, sup = stack
    proxy = dep.addr("proxy", "http_addr")
    ready = f"http://{dep.addr('ocdav', 'debug_addr')}/readyz"

    # A graceful restart: the PUT ocdav is reading when it starts draining completes.
    conn = start_put(proxy, "whole.bin")
    restart = threading.Thread(target=sup.run, args=("restart", "ocdav"))
    restart.start()
    wait_until(lambda: http_get(ready, timeout=2)[0] != 200, what="ocdav draining")
    outcome = finish_put(conn)
    restart.join(120)
    assert re.match(r"20[14] ", outcome), outcome
    assert dav(proxy, "GET", "whole.bin") == (200, PIECE * PIECES)

    # A SIGKILL: the client gets an error and no retry writes part of the body.
    ocdav = psutil.Process(sup.pids()["ocis-ocdav"])
    read_before = ocdav.io_counters().read_chars
    conn = start_put(proxy, "half.bin")
    wait_until(lambda: ocdav.io_counters().read_chars - read_before >= 2 * len(PIECE), what="ocdav reading the PUT")
    ocdav.kill()
    outcome = finish_put(conn)
    assert not re.match(r"2\d\d ", outcome), outcome
    wait_until(lambda: sup.pids().get("ocis-ocdav", ocdav.pid) != ocdav.pid, 60, what="supervisord restarting ocdav")
    wait_until(lambda: dav_get(proxy)[0], 60, what="ocdav serving again")
    assert dav(proxy, "GET", "half.bin")[0] == 404  # nothing half-written, no retry with part of the body
    status, listing = dav(proxy, "PROPFIND", "")
    assert status == 207 and b"half.bin" not in listing and b"whole.bin" in listing


def test_runtime_stop_drains(dep: Deployment) -> None:
    """On SIGTERM every extension of the runtime says bye and keeps serving through the drain, together."""
    env = {"OCIS_DRAIN_TIMEOUT": "5s", "PROXY_TLS": "false"}
    rt = dep.start_runtime("bus,hello,proxy", env=env)
    proxy = dep.addr("proxy", "http_addr")
    wait_until(lambda: greet(proxy)[0], 30, what="greets through the proxy")
    rt.signal(signal.SIGTERM)
    # hello said bye: its own process still calls it (the proxy's route, its greet API's gRPC call).
    assert greet(proxy) == (True, "200 {'message': 'Hello Ada'}")
    assert rt.popen.wait(60) == 0
    draining = re.findall(r"logger=ocisd\.(\S+) msg=\"extension draining\"", rt.output())
    assert sorted(draining) == ["bus", "hello", "proxy"], rt.output()


@pytest.mark.parametrize("mode", ["own", "runtime"])
def test_drain_shorter_than_a_heartbeat_is_refused(dep: Deployment, mode: str) -> None:
    args = ("server",) if mode == "runtime" else ("hello", "server")
    res = dep.ocis(*args, env={"OCIS_DRAIN_TIMEOUT": "500ms"}, timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and "drain_timeout must be at least one heartbeat interval" in res.stderr


def test_generated_stop_timeouts_follow_the_drain(dep: Deployment) -> None:
    sup = Sup(dep)
    sup.generate("bus,hello", env={"HELLO_DRAIN_TIMEOUT": "30s"})
    conf = (sup.dir / "supervisord.conf").read_text()
    waits = dict(re.findall(r"\[program:ocis-(\w+)\][^\[]*?stopwaitsecs=(\d+)", conf))
    assert waits == {"bus": "20", "hello": "48"}  # drain + 1.5 x shutdown grace (10 s) + 3 s
    units = dep.root / "units"
    res = dep.ocis("systemd", "generate", "--user", "--dir", str(units), env={"OCIS_DRAIN_TIMEOUT": "4s"})
    assert res.returncode == 0, res.stderr
    assert "TimeoutStopSec=22\n" in (units / "ocisd@.service").read_text()
