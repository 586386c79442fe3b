"""`ocis server`: selection, order, restarts with backoff, refusal of duplicates, `ocis list`, shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocisd.config import loader
from ocisd.config.shared import SharedConfig
from ocisd.discovery import installed
from ocisd.runtime import control
from tests.support.harness import Deployment, free_port, http_get, http_json, wait_until


def _shared(dep: Deployment) -> SharedConfig:
    return loader.load(None, None, installed(), dep.env).shared


THIRDPARTY_SRC = Path(__file__).resolve().parents[1] / "support" / "thirdparty"


@pytest.fixture(scope="module")
def thirdparty_site() -> Iterator[Path]:
    """Build and install the throwaway third-party package (its own setup.cfg) into a private dir."""
    target = Path(tempfile.mkdtemp(prefix="oc-site-"))
    build = Path(tempfile.mkdtemp(prefix="oc-build-"))
    src = build / "src"
    shutil.copytree(THIRDPARTY_SRC, src)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert list(target.glob("ocisd_demo-*.dist-info"))
    yield target
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)


def demo_env(site: Path, **extra: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(site),
        "DEMO_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "DEMO_DEBUG_ADDR": f"127.0.0.1:{free_port()}",
        **extra,
    }


def test_thirdparty_extension_runs_by_entry_point(dep: Deployment, thirdparty_site: Path) -> None:
    env = demo_env(thirdparty_site)
    helptext = dep.ocis("--help", env=env).stdout
    assert "demo" in helptext and "third-party demo extension" in helptext
    proc = dep.start_runtime("bus,hello,demo", env=env)
    rows = {r["name"]: r for r in dep.runtime_list(env)}
    assert rows["demo"]["state"] == "running" and rows["demo"]["pid"] == proc.pid
    assert http_get(f"http://{env['DEMO_HTTP_ADDR']}/demo")[1] == b"demo\n"
    table = dep.ocis("list", env=env).stdout
    assert "demo" in table and "running" in table


def test_crashing_extension_restarts_with_backoff_while_others_serve(dep: Deployment, thirdparty_site: Path) -> None:
    env = demo_env(thirdparty_site, DEMO_CRASH_EVERY="200ms")
    dep.start_runtime("bus,hello,demo", env=env, wait=False)
    hello_ready = f"http://{dep.addr('hello', 'debug_addr')}/readyz"
    wait_until(lambda: http_get(hello_ready)[0] == 200, what="hello ready")

    def restarted_a_few_times() -> bool:
        demo = next(r for r in dep.runtime_list(env) if r["name"] == "demo")
        assert http_get(hello_ready)[0] == 200  # the neighbour never stops serving
        return bool(demo["restarts"] >= 3)

    wait_until(restarted_a_few_times, timeout=30, interval=0.1, what="demo restarted 3 times")
    demo = next(r for r in dep.runtime_list(env) if r["name"] == "demo")
    assert demo["state"] in ("running", "backoff", "starting")
    assert "demo crashed on purpose" in demo["error"] or demo["state"] == "running"
    assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": "still"})[1] == {"message": "Hello still"}


def test_address_in_use_fails_without_restart_loop(dep: Deployment) -> None:
    import socket

    blocker = socket.socket()
    host, port = dep.addr("hello", "http_addr").rsplit(":", 1)
    blocker.bind((host, int(port)))
    blocker.listen()
    try:
        dep.start_runtime("bus,hello", wait=False)

        def hello_failed() -> dict[str, object] | None:
            row = next((r for r in dep.runtime_list() if r["name"] == "hello"), None)
            return row if row and row["state"] == "failed" else None

        row = wait_until(hello_failed, what="hello failed")
        assert "in use" in str(row["error"]) and row["restarts"] == 0
        assert next(r for r in dep.runtime_list() if r["name"] == "bus")["state"] == "running"
    finally:
        blocker.close()


def test_duplicates_are_refused(dep: Deployment) -> None:
    res = dep.ocis("server", env={"OCIS_RUN_EXTENSIONS": "bus, hello,hello"})
    assert res.returncode == 2 and "'hello' is named twice" in res.stderr
    dep.start_runtime("bus,hello")
    with pytest.raises(control.ControlError) as err:
        control.request(_shared(dep), "/v0/extensions/hello/start", method="POST")
    assert err.value.status == 409 and "already runs" in str(err.value)


def test_the_control_endpoint_obeys_only_its_token_and_no_browser(dep: Deployment) -> None:
    dep.start_runtime("bus,hello")
    base = f"http://{dep.env['OCIS_RUNTIME_ADDR']}"
    stop = f"{base}/v0/extensions/hello/stop"
    bearer = {"Authorization": f"Bearer {control.token(_shared(dep))}"}
    wrong = {"Authorization": "Bearer " + "0" * 64}
    for method, url, headers, status in [
        ("POST", stop, {}, 401),
        ("POST", stop, wrong, 401),
        ("GET", f"{base}/v0/extensions", {}, 401),
        ("GET", f"{base}/v0/runtime", {}, 401),
        ("POST", stop, {"Origin": "https://evil.example"}, 403),
        ("POST", stop, {**bearer, "Origin": "https://evil.example"}, 403),  # a page cannot borrow the token
        ("POST", stop, {**bearer, "Origin": "null"}, 403),
    ]:
        req = urllib.request.Request(url, method=method, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == status, (method, url, headers)
    assert {r["name"]: r["state"] for r in dep.runtime_list()} == {"bus": "running", "hello": "running"}
    shared = _shared(dep)  # what `ocis orchestrate` does to restart an extension, with the token
    control.request(shared, "/v0/extensions/hello/stop", "POST")
    assert {r["name"]: r["state"] for r in dep.runtime_list()}["hello"] == "stopped"
    control.request(shared, "/v0/extensions/hello/start", "POST")
    dep.wait_runtime(dep.procs[-1], ["bus", "hello"])
    other = dep.ocis("list", env={"OCIS_JWT_SECRET": "another-config"})  # a runtime of another config refuses
    assert other.returncode == 1 and "refused" in other.stderr


def test_unknown_extension_lists_the_known_ones(dep: Deployment) -> None:
    res = dep.ocis("server", env={"OCIS_RUN_EXTENSIONS": "bus,nope"})
    assert res.returncode == 2
    assert "'nope'" in res.stderr and "hello" in res.stderr and "bus" in res.stderr


def test_selection_aliases_and_exclusion(dep: Deployment) -> None:
    dep.start_runtime(None, env={"OCIS_RUN_SERVICES": "bus,hello", "OCIS_EXCLUDE_RUN_SERVICES": "hello"}, wait=False)
    wait_until(lambda: [r["name"] for r in dep.runtime_list()] == ["bus"], what="only bus runs")


def test_optional_extensions_run_only_when_added(dep: Deployment) -> None:
    # Everything but bus and hello left out: the default selection then holds just those two,
    # antivirus (optional: it needs a clamd) among them only when added.
    others = [n for n, cls in installed().items() if n not in ("bus", "hello") and not cls.optional]
    trimmed = {"OCIS_EXCLUDE_RUN_EXTENSIONS": ",".join(others)}
    runtime = dep.start_runtime(None, env=trimmed)
    assert [r["name"] for r in dep.runtime_list()] == ["bus", "hello"]
    runtime.stop()
    for key in ("OCIS_ADD_RUN_EXTENSIONS", "OCIS_ADD_RUN_SERVICES"):  # oCIS's name works too
        runtime = dep.start_runtime(None, env={**trimmed, key: "antivirus"})
        assert sorted(r["name"] for r in dep.runtime_list()) == ["antivirus", "bus", "hello"]
        runtime.stop()
    res = dep.ocis("server", env={**trimmed, "OCIS_ADD_RUN_EXTENSIONS": "antivirus,nope"})
    assert res.returncode == 2 and "'nope'" in res.stderr


def test_list_json_shows_runtime_pid_and_second_runtime_is_refused(dep: Deployment) -> None:
    proc = dep.start_runtime("bus,hello")
    rows = dep.runtime_list()
    assert [r["name"] for r in rows] == ["bus", "hello"]  # dependency order: bus first
    for row in rows:
        assert row["pid"] == proc.pid and row["restarts"] == 0 and row["state"] == "running"
        assert {"name", "state", "pid", "restarts", "addresses"} <= row.keys()
    assert rows[1]["addresses"]["http"] == dep.addr("hello", "http_addr")
    second = dep.ocis("server", env={"OCIS_RUN_EXTENSIONS": "bus"}, timeout=30)
    assert second.returncode == 1
    assert dep.env["OCIS_RUNTIME_ADDR"] in second.stderr and f"PID {proc.pid}" in second.stderr


def test_list_without_runtime_exits_1(dep: Deployment) -> None:
    res = dep.ocis("list")
    assert res.returncode == 1 and "no runtime is running" in res.stderr


def test_sigterm_stops_in_reverse_order_and_exits_0(dep: Deployment, thirdparty_site: Path) -> None:
    env = {**demo_env(thirdparty_site), "OCIS_LOG_FORMAT": "json"}
    proc = dep.start_runtime("hello,demo,bus", env=env)
    proc.signal(signal.SIGTERM)
    assert proc.popen.wait(30) == 0
    events = [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]
    started = [e["ext"] for e in events if e["msg"] == "extension ready"]
    stopped = [e["ext"] for e in events if e["msg"] == "extension stopped"]
    assert started[0] == "bus"
    assert stopped == list(reversed(["bus", "demo", "hello"]))
    assert events[-1]["msg"] == "runtime stopped"


def test_extension_in_its_own_process(dep: Deployment) -> None:
    runtime = dep.start_runtime("bus")
    hello = dep.start_extension("hello")
    assert hello.pid != runtime.pid
    assert dep.ocis("hello", "health").returncode == 0
    assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": "own"})[1] == {"message": "Hello own"}
    hello.signal(signal.SIGTERM)
    assert hello.popen.wait(20) == 0
    res = dep.ocis("hello", "health")
    assert res.returncode == 1 and "unreachable" in res.stdout
