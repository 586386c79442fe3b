"""A real supervisord from generated config: restarts, reloads and shutdown that touch only what they should."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from supervisor.datatypes import dict_of_key_value_pairs

from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.node import Node
from ocisd.supervisor.config import MAX_SOCKET_PATH, MIN_FDS, GenerateError, environment
from ocisd.supervisor.control import Supervisor, pidfile_pid
from tests.support.harness import Deployment, http_json, kill_supervisor, wait_until

REPO = Path(__file__).resolve().parents[2]
REGISTRY_WITHIN = 3.0  # the promise: a restarted extension is back in the registry this fast


class Sup:
    """`ocis supervisor ...` for one deployment directory; stops supervisord by PID at teardown."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.dir = dep.root / "sup"

    def run(self, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> str:
        res = self.dep.ocis("supervisor", *args, "--dir", str(self.dir), env=env)
        if ok:
            assert res.returncode == 0, f"ocis supervisor {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        return res.stdout + res.stderr

    def generate(self, extensions: str = "", env: dict[str, str] | None = None, instances: str = "") -> None:
        choice = (["--extensions", extensions] if extensions else []) + (
            ["--instances", instances] if instances else []
        )
        self.run("generate", *choice, env=env)

    def status(self) -> dict[str, dict[str, object]]:
        return {row["name"]: row for row in json.loads(self.run("status", "--json"))}

    def pids(self) -> dict[str, int]:
        """RUNNING programs' PIDs, asked over XML-RPC in-process (quicker to poll than the CLI)."""
        return {r["name"]: int(r["pid"]) for r in Supervisor(self.dir).status() if r["state"] == "RUNNING"}

    def close(self) -> None:
        kill_supervisor(self.dir)

    def __enter__(self) -> Sup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def sup(dep: Deployment) -> Iterator[Sup]:
    with Sup(dep) as s:
        yield s


def registry_pids(dep: Deployment) -> dict[str, set[int]]:
    res = dep.ocis("registry", "--json")
    found: dict[str, set[int]] = {}
    for row in json.loads(res.stdout or "[]"):
        found.setdefault(row["name"], set()).add(row["pid"])
    return found


def tree(pid: int) -> list[tuple[int, float]]:
    root = psutil.Process(pid)
    return [(p.pid, p.create_time()) for p in [root, *root.children(recursive=True)]]


def alive(procs: list[tuple[int, float]]) -> list[int]:
    left = []
    for pid, created in procs:
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def test_committed_supervisor_d_is_the_generator_output(tmp_path: Path, bare: Deployment) -> None:
    res = bare.ocis("supervisor", "generate", "--portable", "--dir", str(tmp_path / "s"))
    assert res.returncode == 0, res.stderr
    for name in ("supervisord.conf", ".gitignore"):
        fresh = (tmp_path / "s" / name).read_text()
        assert (REPO / "supervisor.d" / name).read_text() == fresh, (
            f"supervisor.d/{name} is stale: run `.venv/bin/ocis supervisor generate --portable --dir supervisor.d`"
        )
    conf = (tmp_path / "s" / "supervisord.conf").read_text()
    assert str(REPO) not in conf and str(Path.home()) not in conf and sys.executable not in conf


def test_environment_round_trips_through_supervisords_parser() -> None:
    env = {"A": "Hey, %s: 100%", "B": 'say "hi" now', "C": "it's", "D": "", "E": "a=b,c d", "F": "%(here)s"}
    line = environment(env)
    # supervisord expands `%(...)s` first (so `%%` becomes `%`), then splits KEY=value pairs.
    assert dict_of_key_value_pairs(line % {}) == env
    # supervisord strips quotes at both ends of a value: such values are refused, not mangled.
    with pytest.raises(GenerateError):
        environment({"G": '"quoted"'})


def test_socket_path_too_long_is_refused(bare: Deployment) -> None:
    deep = bare.root / ("d" * (MAX_SOCKET_PATH - len(str(bare.root))))
    res = bare.ocis("supervisor", "generate", "--dir", str(deep))
    assert res.returncode == 1
    assert "under 108 bytes" in res.stderr and not (deep / "supervisord.conf").exists()


def test_kill_restart_and_stop_touch_only_their_program(dep: Deployment, sup: Sup) -> None:
    # Quoting and `%` escaping, end to end: the greeting reaches hello through environment=.
    # bus and hello only: what the test needs, and quick on a small machine.
    sup.generate("bus,hello", env={"HELLO_GREETING": "Hey, %s: 100% \\o/"})
    sup.run("start")
    assert {n: (r["state"], r["pid"]) for n, r in sup.status().items()} == {
        n: ("RUNNING", pid) for n, pid in sup.pids().items()
    }
    before = sup.pids()
    assert set(before) == {"ocis-bus", "ocis-hello"}
    # minfds raises every program's descriptor limit (the proxy's need); umask keeps supervisord's files private
    assert psutil.Process(before["ocis-hello"]).rlimit(psutil.RLIMIT_NOFILE)[0] >= MIN_FDS
    logs = sorted((sup.dir / "logs").iterdir())
    assert logs and {p.name: stat.S_IMODE(p.stat().st_mode) for p in logs} == {p.name: 0o600 for p in logs}
    assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Ada"}) == (
        200,
        {"message": "Hey, Ada: 100% \\o/"},
    )

    os.kill(before["ocis-hello"], signal.SIGKILL)
    respawned = wait_until(
        lambda: (p := sup.pids()).get("ocis-hello", before["ocis-hello"]) != before["ocis-hello"] and p,
        what="supervisord respawning hello",
    )
    assert {n: p for n, p in respawned.items() if n != "ocis-hello"} == {
        n: p for n, p in before.items() if n != "ocis-hello"
    }
    wait_until(
        lambda: registry_pids(dep).get("hello") == {respawned["ocis-hello"]},
        timeout=REGISTRY_WITHIN,
        what="the registry showing hello's new PID",
    )

    sup.run("restart", "hello")
    restarted = sup.pids()
    assert restarted["ocis-hello"] not in (respawned["ocis-hello"], before["ocis-hello"])
    assert restarted["ocis-bus"] == before["ocis-bus"]
    sup.run("restart", "ocis-bus")
    after_bus = sup.pids()
    assert after_bus["ocis-hello"] == restarted["ocis-hello"] and after_bus["ocis-bus"] != before["ocis-bus"]
    wait_until(lambda: http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Bo"})[0] == 200, what="greets")

    supervisord = pidfile_pid(sup.dir)
    assert supervisord is not None
    procs = tree(supervisord)
    assert {p for p, _ in procs} >= set(after_bus.values())
    sup.run("stop")
    assert alive(procs) == []


def test_start_reports_a_failing_program_with_its_log(dep: Deployment, sup: Sup) -> None:
    sup.generate("bus,hello", env={"HELLO_HTTP_ADDR": "no-port-here"})
    out = sup.run("start", ok=False)
    assert "ocis-hello is" in out and "expected host:port, found 'no-port-here'" in out
    assert "ocis-bus is" not in out


def test_reload_adds_and_removes_one_program(dep: Deployment, sup: Sup) -> None:
    sup.generate("bus")
    sup.run("start")
    bus = sup.pids()["ocis-bus"]
    sup.generate("bus,hello")
    assert "added: ocis-hello" in sup.run("reload")
    pids = sup.pids()
    assert pids["ocis-bus"] == bus and "ocis-hello" in pids
    wait_until(lambda: http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Cy"})[0] == 200, what="greets")

    hello = psutil.Process(pids["ocis-hello"])
    sup.generate("bus")
    assert "removed: ocis-hello" in sup.run("reload")
    assert sup.pids() == {"ocis-bus": bus} and set(sup.status()) == {"ocis-bus"}
    hello.wait(10)


async def greet_through_registry(dep: Deployment) -> str:
    """Call the Greeter the way any extension does: resolved through the bus registry."""
    shared = loader.load(None, None, installed(), dep.env).shared
    node = Node(shared)
    await node.start()
    try:
        for _ in range(100):
            if node.registry.healthy("hello"):
                break
            await asyncio.sleep(0.1)
        reply = await node.rpc.stub("hello", hello_pb2_grpc.HelloStub).Greet(hello_pb2.GreetRequest(name="Mix"))
        return str(reply.message)
    finally:
        await node.close()


def test_mixed_mode_runtime_and_supervised_hello(dep: Deployment, sup: Sup) -> None:
    others = ["bus", "proxy"]
    mixed = {"OCIS_RUN_EXTENSIONS": "bus,proxy,hello", "OCIS_EXCLUDE_RUN_EXTENSIONS": "hello", "PROXY_TLS": "false"}
    runtime = dep.start_runtime(env=mixed, wait=False)
    dep.wait_runtime(runtime, others, env=mixed)
    sup.generate("hello")
    sup.run("start")
    hello_pid = sup.pids()["ocis-hello"]
    assert "hello" not in {row["name"] for row in dep.runtime_list()}
    wait_until(
        lambda: registry_pids(dep) == {**{n: {runtime.pid} for n in others}, "hello": {hello_pid}},
        what="one registry holding the runtime's extensions and the supervised hello",
    )
    assert asyncio.run(greet_through_registry(dep)) == "Hello Mix"
    # The runtime's HTTP front door routes the greet API to the supervised hello.
    status, body = http_json(dep.url("proxy", path="/api/v0/greet"), {"name": "Ada"})
    assert (status, body) == (200, {"message": "Hello Ada"})
