"""Several instances of an extension under a real supervisord, restarted and reloaded one at a time
while a client greets through the proxy: never both down, no failed request."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ocisd.supervisor.config import INSTANCE_PORT_STEP
from ocisd.supervisor.control import Supervisor
from tests.core.test_supervisor import Sup, registry_pids
from tests.support.harness import Deployment, free_port, http_json, wait_until

HELLOS = ("ocis-hello", "ocis-hello-2")


@pytest.fixture
def sup(dep: Deployment) -> Iterator[Sup]:
    with Sup(dep) as s:
        yield s


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def shiftable_port() -> int:
    """A free port whose second instance's twin (port + INSTANCE_PORT_STEP) is free too."""
    return int(
        wait_until(lambda: (p := free_port()) + INSTANCE_PORT_STEP <= 65535 and bindable(p + INSTANCE_PORT_STEP) and p)
    )


def two_hellos_env() -> dict[str, str]:
    ports = {f"HELLO_{key}_ADDR": f"127.0.0.1:{shiftable_port()}" for key in ("HTTP", "GRPC", "DEBUG")}
    return {**ports, "PROXY_TLS": "false"}


@dataclass
class Watch:
    """Greets through the proxy every 50 ms and samples the two hellos' supervisord state meanwhile."""

    url: str
    sup: Supervisor
    statuses: list[int | str] = field(default_factory=list)
    samples: list[dict[str, int | None]] = field(default_factory=list)  # program -> PID when RUNNING
    stop: threading.Event = field(default_factory=threading.Event)

    def greet(self) -> None:
        while not self.stop.is_set():
            try:
                status, _ = http_json(self.url, {"name": f"g{len(self.statuses)}"}, timeout=30)
            except OSError as exc:
                status = f"{type(exc).__name__}: {exc}"
            self.statuses.append(status)
            self.stop.wait(0.05)

    def sample(self) -> None:
        while not self.stop.is_set():
            rows = {r["name"]: r for r in self.sup.status()}
            self.samples.append({p: rows[p]["pid"] if rows[p]["state"] == "RUNNING" else None for p in HELLOS})
            self.stop.wait(0.05)

    def __enter__(self) -> Watch:
        self.threads = [threading.Thread(target=t) for t in (self.greet, self.sample)]
        for t in self.threads:
            t.start()
        wait_until(lambda: len(self.statuses) >= 3 and self.samples, what="greets and samples before the restart")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def check_rolled(self, before: dict[str, int]) -> None:
        """Every greet answered 200; at every sample a hello ran; the second hello changed only after the
        first had its new PID."""
        assert self.statuses and set(self.statuses) == {200}, self.statuses
        assert all(any(s.values()) for s in self.samples), self.samples
        first, second = HELLOS
        second_moved = [i for i, s in enumerate(self.samples) if s[second] != before[second]]
        assert second_moved, self.samples
        at = second_moved[0]
        assert self.samples[at][first] not in (None, before[first]), self.samples


def test_rolling_restart_and_reload_keep_two_hellos_serving(dep: Deployment, sup: Sup) -> None:
    env = two_hellos_env()
    sup.generate("bus,proxy,hello", env=env)
    sup.run("start")
    single = sup.pids()
    # A second instance joins with a reload; the first keeps running.
    sup.generate("bus,proxy,hello", env=env, instances="hello=2")
    assert "added: ocis-hello-2 changed: - removed: -" in sup.run("reload")
    before = sup.pids()
    assert before["ocis-hello"] == single["ocis-hello"]
    assert set(before) == {"ocis-bus", "ocis-proxy", *HELLOS}
    wait_until(lambda: registry_pids(dep).get("hello") == {before[p] for p in HELLOS}, what="both hellos registered")
    url = dep.url("proxy", path="/api/v0/greet")

    with Watch(url, Supervisor(sup.dir)) as watch:
        sup.run("restart", "hello")
    watch.check_rolled(before)
    restarted = sup.pids()
    assert {p: restarted[p] for p in ("ocis-bus", "ocis-proxy")} == {p: before[p] for p in ("ocis-bus", "ocis-proxy")}
    assert all(restarted[p] != before[p] for p in HELLOS)

    # A config change reaches both instances the same way, one after the other.
    sup.generate("bus,proxy,hello", env={**env, "HELLO_GREETING": "Hi %s"}, instances="hello=2")
    with Watch(url, Supervisor(sup.dir)) as watch:
        assert "changed: ocis-hello, ocis-hello-2" in sup.run("reload")
    watch.check_rolled(restarted)
    reloaded = sup.pids()
    assert reloaded["ocis-proxy"] == before["ocis-proxy"] and all(reloaded[p] != restarted[p] for p in HELLOS)
    assert http_json(url, {"name": "Ada"}) == (200, {"message": "Hi Ada"})


def test_restart_stops_at_an_instance_that_does_not_come_back(dep: Deployment, sup: Sup) -> None:
    sup.generate("bus,proxy,hello", env=two_hellos_env(), instances="hello=2")
    sup.run("start")
    before = sup.pids()
    (dep.config_dir / "hello.yaml").write_text("greeting: [not, a, string]\n")
    out = sup.run("restart", "hello", ok=False)
    assert "ocis-hello is" in out and "greeting" in out, out
    # The second instance was never stopped and still serves through the proxy.
    assert sup.pids().get("ocis-hello-2") == before["ocis-hello-2"]
    assert http_json(dep.url("proxy", path="/api/v0/greet"), {"name": "Bo"}) == (200, {"message": "Hello Bo"})
    assert "no program 'ocis-nothing'" in sup.run("restart", "nothing", ok=False)


def test_generate_instances(bare: Deployment) -> None:
    conf = bare.root / "s" / "supervisord.conf"
    port = shiftable_port()
    res = bare.ocis(
        "supervisor",
        "generate",
        "--extensions",
        "bus,hello",
        "--instances",
        "hello=3",
        "--dir",
        str(conf.parent),
        env={"HELLO_HTTP_ADDR": f"0.0.0.0:{port}"},
    )
    assert res.returncode == 0, res.stderr
    text = conf.read_text()
    assert "programs=ocis-bus,ocis-hello,ocis-hello-2,ocis-hello-3\n" in text
    third = text.split("[program:ocis-hello-3]")[1]
    assert f'HELLO_HTTP_ADDR="0.0.0.0:{port + 2 * INSTANCE_PORT_STEP}"' in third and "hello server" in third
    assert "HELLO_GRPC_ADDR=" in third and "HELLO_DEBUG_ADDR=" in third
    for bad, said in (("bus=2", "the bus broker runs once"), ("ocdav=2", "not among"), ("hello=0", "COUNT >= 1")):
        res = bare.ocis(
            "supervisor", "generate", "--extensions", "bus,hello", "--instances", bad, "--dir", str(conf.parent)
        )
        assert res.returncode == 1 and said in res.stderr, res.stderr
