"""Run a CLI action against the identity API over gRPC, as the admin, wherever the extensions run.

The CLI reads the local config, joins the bus briefly so its registry learns
where the needed extensions live (a runtime, supervised processes, other
hosts), and calls them with an internal token minted for the admin identity
with the shared secret.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio

from ocisd import authz, identity
from ocisd.api.identity.v1 import users_pb2, users_pb2_grpc
from ocisd.bus.registry import Registry
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.node import Node
from ocisd.rpc.client import RpcClients

Action = Callable[[RpcClients], Awaitable[int]]


class CliError(Exception):
    """A user-facing failure: printed as `ocis: <message>`, exit status 1."""


async def _wait_for(registry: Registry, names: Sequence[str], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while missing := [n for n in names if not registry.healthy(n)]:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise CliError(f"no running instance of {', '.join(missing)} found on the bus (is ocisd running?)")
        try:
            await asyncio.wait_for(registry.changed.wait(), remaining)
        except TimeoutError:
            pass


async def _session(names: Sequence[str], action: Action) -> int:
    shared = loader.load(None, None, installed()).shared
    if not shared.jwt_secret or not shared.admin_user_id:
        raise CliError("no jwt_secret or admin_user_id in the config: run `ocis init` first")
    node = Node(shared)
    await node.start()
    try:
        # Every instance heartbeats once per interval: a few intervals (plus slack for a busy
        # machine or an extension still starting) are enough to hear it.
        await _wait_for(node.registry, names, 3 * float(shared.heartbeat_interval) + 5)
        admin = identity.Identity(user_id=shared.admin_user_id, username="admin")
        with authz.acting_as(identity.mint(shared.jwt_secret, admin), admin):
            return await action(node.rpc)
    finally:
        await node.close()


def run(names: Sequence[str], action: Action) -> int:
    """Run `action` with the extensions `names` reachable; map failures to messages and exit statuses."""
    try:
        return asyncio.run(_session(names, action))
    except CliError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
    except grpc.aio.AioRpcError as exc:
        print(f"ocis: {exc.code().name.lower().replace('_', ' ')}: {exc.details()}", file=sys.stderr)
    return 1


def execute(args: argparse.Namespace, names: Sequence[str]) -> int:
    """Build the action the parsed command chose (it may prompt), then run it."""
    try:
        action = args.action(args)
    except CliError as exc:
        print(f"ocis: {exc}", file=sys.stderr)
        return 1
    return run(names, action)


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    """From one line of standard input, or typed twice at a prompt; never from the command line."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Repeat password: ") != password:
            raise CliError("the passwords do not match")
    else:
        raise CliError("standard input is not a terminal: pipe the password with --password-stdin")
    if not password:
        raise CliError("the password must not be empty")
    return password


async def find_user(rpc: RpcClients, ref: str) -> users_pb2.User:
    """A user by username, or by id when `ref` is a UUID that names no user."""
    users = rpc.stub("users", users_pb2_grpc.UsersStub)
    try:
        return await users.GetUser(users_pb2.GetUserRequest(username=ref))
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND and exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
    try:
        uuid.UUID(ref)
    except ValueError:
        raise CliError(f"no user named {ref!r}") from None
    try:
        return await users.GetUser(users_pb2.GetUserRequest(id=ref))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise CliError(f"no user named {ref!r}") from None
        raise


def as_dict(message: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(message, f) for f in fields}
