"""A runtime with `bus,hello` plus a second `hello` in its own process: the shape several tests need."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from ocisd.config.schema import env_name, env_prefix
from tests.support.harness import Deployment, Proc, free_port, metric_value, wait_until


def own_addresses(name: str) -> dict[str, str]:
    """Env giving a second instance of `name` its own free loopback addresses."""
    return {env_name(env_prefix(name), f"{k}_addr"): f"127.0.0.1:{free_port()}" for k in ("http", "grpc", "debug")}


def start_pair(dep: Deployment, runtime: str = "bus,hello") -> tuple[Proc, Proc, dict[str, str]]:
    """(runtime, outside hello, the outside hello's env); both hellos are ready in the runtime's registry."""
    rt = dep.start_runtime(runtime)
    env = own_addresses("hello")
    outside = dep.start_extension("hello", env=env)
    wait_local_view(dep, "hello", 2)
    return rt, outside, env


def registry(dep: Deployment, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """`ocis registry --json`: what a fresh process hears on the bus."""
    res = dep.ocis("registry", "--json", env=env)
    assert res.returncode in (0, 1), res.stderr
    return list(json.loads(res.stdout))


def local_view(dep: Deployment, name: str, env: dict[str, str] | None = None) -> int:
    """How many ready instances of `name` the registry inside hello's process (runtime or own) holds."""
    text = dep.metrics("hello", env)
    return int(metric_value(text, "ocisd_registry_instances", f'health="ready",name="{name}"'))


def wait_local_view(dep: Deployment, name: str, count: int, timeout: float = 15.0) -> None:
    wait_until(lambda: local_view(dep, name) == count, timeout, what=f"{count} {name} instances in the registry")


async def eventually(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    """`wait_until` for code already inside an event loop."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
