"""Pieces the bus outage test and `scripts/bench-recovery` share: one more `ocis hello server`
beside a temp deployment, and whether a process answers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping

from tests.support.harness import BIN, http_get
from tests.support.hello_pair import own_addresses


def answers(url: str) -> bool:
    """`url` answers 200 (a process not listening yet does not)."""
    try:
        return http_get(url, timeout=2)[0] == 200
    except OSError:
        return False


def start_hello(env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """(process, debug address) of one more `ocis hello server` on its own ports, once ready
    (it needs no bus to be ready)."""
    own = {**env, **own_addresses("hello")}
    proc = subprocess.Popen(
        [str(BIN / "ocis"), "hello", "server"],
        env=own,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    debug = own["HELLO_DEBUG_ADDR"]
    deadline = time.monotonic() + 30
    while not answers(f"http://{debug}/readyz"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the extra hello did not become ready")
        time.sleep(0.05)
    return proc, debug


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each (they drain at the same time), SIGKILL what did not exit."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
