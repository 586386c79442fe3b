"""The one rule for process-wide settings: per extension what can be, refused what a process holds once.

The same deployment starts the same way and behaves the same with an extension
inside `ocis server` or in its own process.
"""

from __future__ import annotations

import re
import signal
import time

import pytest

from ocisd.discovery import installed
from tests.core.test_config import add_to_main, failure
from tests.support.harness import Deployment, Proc, http_json
from tests.support.hello_pair import own_addresses, wait_local_view

MODES = ("runtime", "own process")
HELLO_ONLY = {"HELLO_LOG_LEVEL": "debug", "HELLO_GRPC_DEADLINE": "300ms"}


def start_hello(dep: Deployment, mode: str, env: dict[str, str]) -> Proc:
    """hello with `env`, inside `ocis server` beside the bus or in its own process; the process serving it."""
    if mode == "runtime":
        return dep.start_runtime("bus,hello", env=env)
    dep.start_runtime("bus")
    return dep.start_extension("hello", env=env)


def debug_extensions(output: str) -> set[str]:
    """The extensions whose loggers (`ocisd.<name>` and below) wrote debug lines in `output`."""
    loggers = {m.group(1) for m in re.finditer(r"level=debug .*?logger=(\S+)", output)}
    return {n for n in installed() for lg in loggers if lg == f"ocisd.{n}" or lg.startswith(f"ocisd.{n}.")}


@pytest.mark.parametrize("mode", MODES)
def test_log_level_and_deadline_are_the_extensions_own(dep: Deployment, mode: str) -> None:
    # Slow heartbeats: the frozen greeter stays in the registry while it is called.
    dep.env["OCIS_HEARTBEAT_INTERVAL"] = "3s"
    # An own value equal to the shared one is no conflict.
    hello = start_hello(dep, mode, {**HELLO_ONLY, "HELLO_HEARTBEAT_INTERVAL": "3s"})
    frozen = dep.start_extension("hello", env=own_addresses("hello"))
    wait_local_view(dep, "hello", 2)
    frozen.signal(signal.SIGSTOP)

    # Round-robin over the two greeters: one of two greets waits on the frozen one, for hello's
    # deadline (300ms) and not the shared one (10s).
    outcomes = []
    for _ in range(2):
        began = time.monotonic()
        status, reply = http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Ada"})
        outcomes.append((status, reply, time.monotonic() - began))
    assert sorted(status for status, _, _ in outcomes) == [200, 503], outcomes
    _, reply, took = max(outcomes, key=lambda o: o[0])
    assert "deadline" in reply["error"].lower() and 0.25 < took < 5, outcomes

    # hello's debug lines are there (its start, the call its deadline cut short) ...
    lines = hello.output().splitlines()
    assert any("logger=ocisd.hello" in line and 'msg="extension starting"' in line for line in lines)
    assert any("level=debug" in line and "code=DEADLINE_EXCEEDED" in line and "ext=hello" in line for line in lines)
    # ... and no other extension's, in this process or another.
    for proc in dep.procs:
        assert debug_extensions(proc.output()) == ({"hello"} if proc is hello else set()), proc.label


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("variable", "value"),
    [("HELLO_BUS_PUB_ADDR", "tcp://127.0.0.1:1"), ("HELLO_HEARTBEAT_INTERVAL", "2s"), ("HELLO_LOG_FORMAT", "json")],
)
def test_own_value_of_a_process_wide_setting_is_refused(dep: Deployment, mode: str, variable: str, value: str) -> None:
    env = {variable: value}
    if mode == "runtime":
        line = failure(dep, "server", env={**env, "OCIS_RUN_EXTENSIONS": "bus,hello"})
    else:
        line = failure(dep, "hello", "server", env=env)
    key = variable.removeprefix("HELLO_").lower()
    assert line.startswith(f"ocis: config error: env {variable}: {key} is one per process"), line
    assert repr(value) in line or key == "heartbeat_interval", line
    assert f"OCIS_{key.upper()}" in line


@pytest.mark.parametrize("mode", MODES)
def test_refusal_names_file_and_key_and_hides_secrets(dep: Deployment, mode: str) -> None:
    args = ("server",) if mode == "runtime" else ("hello", "server")
    env = {"OCIS_RUN_EXTENSIONS": "bus,hello"}
    own = dep.config_dir / "hello.toml"
    own.write_text('heartbeat_interval = "2s"\n')
    line = failure(dep, *args, env=env)
    assert f"{own}: key 'heartbeat_interval': heartbeat_interval is one per process" in line
    own.unlink()
    main = add_to_main(dep, "\n[hello]\nbus_curve = false\n")
    line = failure(dep, *args, env=env)
    assert f"{main}: key 'hello.bus_curve'" in line
    main.write_text(main.read_text().replace("bus_curve = false\n", ""))
    line = failure(dep, *args, env={**env, "HELLO_BUS_CLIENT_SECRET_KEY": "not-the-shared-key"})
    assert "env HELLO_BUS_CLIENT_SECRET_KEY: bus_client_secret_key" in line and "not-the-shared-key" not in line
