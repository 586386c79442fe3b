"""Shared by the identity and auth tests: fast argon2, CLI helpers, direct gRPC calls, the log check."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from ocisd import identity
from tests.support import sets
from tests.support.harness import Deployment, deployment, free_port, kill_supervisor

# Cheap argon2id parameters so tests spend no seconds hashing (production defaults stay strong).
FAST_ARGON2 = {"USERS_ARGON2_TIME_COST": "1", "USERS_ARGON2_MEMORY_COST": "8192", "USERS_ARGON2_PARALLELISM": "1"}
IDENTITY = sets.join(sets.IDENTITY)
# Short heartbeats: each `ocis users ...` call waits for one before it knows where `users` runs.
QUICK_BUS = {"OCIS_HEARTBEAT_INTERVAL": "0.2"}
ADMIN_PASSWORD = "admin-pw-for-tests"  # what Deployment.init() passes to `ocis init`


@contextmanager
def identity_deployment() -> Iterator[Deployment]:
    """A fresh `ocis init`ed deployment with fast argon2 and quick heartbeats for every process."""
    with deployment() as dep:
        dep.env.update(FAST_ARGON2)
        dep.env.update(QUICK_BUS)
        yield dep


def ocis_ok(dep: Deployment, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    res = dep.ocis(*args, input=input, env=env)
    assert res.returncode == 0, f"ocis {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


@contextmanager
def under_supervisord(dep: Deployment, extensions: str) -> Iterator[Deployment]:
    """`extensions` (comma list) under a real supervisord in the deployment, each ready to serve
    (RUNNING to supervisord is not yet ready); supervisord and its programs are killed after."""
    directory = str(dep.root / "sup")
    ocis_ok(dep, "supervisor", "generate", "--dir", directory, "--extensions", extensions)
    try:
        ocis_ok(dep, "supervisor", "start", "--dir", directory)
        for name in extensions.split(","):
            dep.wait_ready(name)
        yield dep
    finally:
        kill_supervisor(dep.root / "sup")


def add_user(dep: Deployment, username: str, password: str) -> str:
    """Create a user through the CLI (password on stdin); returns its id."""
    out = ocis_ok(dep, "users", "add", username, "--password-stdin", input=password + "\n")
    return out.rsplit("(id ", 1)[1].rstrip(")\n")


def config_value(dep: Deployment, key: str) -> str:
    text = (dep.config_dir / "ocis.toml").read_text()
    line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
    return line.split(" = ", 1)[1].strip().strip('"')


def token_for(dep: Deployment, who: identity.Identity, secret: str | None = None) -> str:
    return identity.mint(secret or config_value(dep, "jwt_secret"), who)


def call(dep: Deployment, ext: str, stub_cls: type, method: str, request: Any, token: str = "") -> Any:
    """One gRPC call straight to an extension's configured address (not through any proxy)."""
    metadata = [(identity.GRPC_METADATA, token)] if token else []
    with grpc.insecure_channel(dep.addr(ext, "grpc_addr")) as channel:
        return getattr(stub_cls(channel), method)(request, timeout=10, metadata=metadata)


def service_call(dep: Deployment, ext: str, stub_cls: type, method: str, request: Any) -> Any:
    """A call as an extension makes it, with a service token (what `Authenticate` methods require)."""
    token = identity.mint(config_value(dep, "jwt_secret"), identity.service_identity("tests"))
    return call(dep, ext, stub_cls, method, request, token)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def restart_env() -> dict[str, str]:
    """A new control address for a runtime started again (the old one may linger in TIME_WAIT)."""
    return {"OCIS_RUNTIME_ADDR": f"127.0.0.1:{free_port()}"}


def log_files(dep: Deployment) -> list[Path]:
    return sorted(p for p in dep.root.rglob("*") if p.is_file() and (p.suffix == ".log" or "log" in p.name))


def assert_no_secrets(dep: Deployment, secrets: list[str]) -> int:
    """No secret appears in any log the deployment produced; returns how many log lines were checked."""
    lines = 0
    for path in log_files(dep):
        text = path.read_text(errors="replace")
        lines += text.count("\n")
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:3]}…) appears in {path.name}"
    return lines
