"""The gateway routes each personal space to the storage-users instance whose home range holds
it (two instances, real processes), and never to storage-system, which serves the system user only."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import grpc
import pytest

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import shard
from tests.support.harness import Deployment, Proc, deployment, free_port, metric_value, wait_until
from tests.support.storage_stack import Stack, ref


def user_in(lo: str, hi: str) -> identity.Identity:
    uid = next(f"user-{i}" for i in range(1000) if lo <= shard(f"user-{i}") <= hi)
    return identity.Identity(user_id=uid, username=uid)


LOW = user_in("00", "7f")
HIGH = user_in("80", "ff")
CALLS = "ocisd_rpc_client_calls_total"


def gateway_calls(dep: Deployment, code: str, path: str) -> float:
    """The gateway's calls to storage-users through the rpc client factory, from its /metrics."""
    return metric_value(dep.metrics("gateway"), CALLS, f'code="{code}",extension="storage-users",path="{path}"')


@dataclass
class Providers:
    stack: Stack
    low_dir: Path
    high: Proc
    high_dir: Path


def second_storage(dep: Deployment, home_range: str) -> tuple[Proc, Path]:
    data = dep.root / f"data-{home_range}"
    env = {
        "OCIS_BASE_DATA_PATH": str(data),
        "STORAGE_USERS_HOME_RANGE": home_range,
        "STORAGE_USERS_PROVIDER_ID": f"users-{home_range}",
        **{f"STORAGE_USERS_{k}_ADDR": f"127.0.0.1:{free_port()}" for k in ("GRPC", "HTTP", "DEBUG")},
    }
    return dep.start_extension("storage-users", env=env), data / "storage-users"


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with deployment() as dep:
        low_env = {"STORAGE_USERS_HOME_RANGE": "00-7f"}
        low = dep.start_extension("storage-users", env=low_env, wait=False)  # start-ups overlap
        _, gateway, _ = dep.start_extensions("bus", "gateway", "storage-system")
        high, high_dir = second_storage(dep, "80-ff")
        dep.wait_ready("storage-users", low, low_env)
        stack = Stack(dep, low, gateway)
        # The gateway learns each instance from its heartbeat, which may come up to an interval after the other's.
        for who in (HIGH, LOW):
            wait_until(partial(stack.call, "GetHome", pb.GetHomeRequest(), who=who), 20, what=f"routes {who.user_id}")
        try:
            yield Providers(stack, dep.data_dir / "storage-users", high, high_dir)
        finally:
            stack.close()


def spaces_in(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "metadata.db") as db:
        return {row[0] for row in db.execute("SELECT id FROM spaces")}


def test_each_space_lives_on_the_instance_whose_range_holds_it(providers: Providers) -> None:
    stack = providers.stack
    for who in (LOW, HIGH):
        stack.call("CreateContainer", pb.CreateContainerRequest(ref=ref("/docs")), who=who)
        info = stack.call("Stat", pb.StatRequest(ref=ref("/docs")), who=who).info
        assert info.space_id == who.user_id and info.owner_id == who.user_id
    assert LOW.user_id in spaces_in(providers.low_dir) and HIGH.user_id not in spaces_in(providers.low_dir)
    assert HIGH.user_id in spaces_in(providers.high_dir) and LOW.user_id not in spaces_in(providers.high_dir)


def test_errors_pass_through_the_gateway_unchanged(providers: Providers) -> None:
    with pytest.raises(grpc.RpcError) as err:
        providers.stack.call("Stat", pb.StatRequest(ref=ref("/missing")), who=HIGH)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert dict(err.value.trailing_metadata())["ocisd-reason"] == "not-found"
    with pytest.raises(grpc.RpcError) as err:
        providers.stack.call("Stat", pb.StatRequest(ref=pb.Reference(node_id="garbage")), who=HIGH)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_gateway_forwards_through_the_client_factory(providers: Providers) -> None:
    dep = providers.stack.dep
    ok, missing = gateway_calls(dep, "OK", "remote"), gateway_calls(dep, "NOT_FOUND", "remote")
    providers.stack.call("GetHome", pb.GetHomeRequest(), who=HIGH)
    with pytest.raises(grpc.RpcError):
        providers.stack.call("Stat", pb.StatRequest(ref=ref("/not-here")), who=LOW)
    assert gateway_calls(dep, "OK", "remote") >= ok + 1
    assert gateway_calls(dep, "NOT_FOUND", "remote") == missing + 1
    assert gateway_calls(dep, "OK", "local") == 0  # separate processes: every call crosses a channel


def test_the_system_space_is_for_the_system_user_only(providers: Providers) -> None:
    dep = providers.stack.dep
    cfg = tomllib.loads((dep.config_dir / "ocis.toml").read_text())
    system = identity.Identity(user_id=cfg["system_user_id"], username="system")
    channel = grpc.insecure_channel(dep.addr("storage-system", "grpc_addr"))
    stub = pb_grpc.StorageStub(channel)

    def meta(who: identity.Identity) -> list[tuple[str, str]]:
        return [(identity.GRPC_METADATA, identity.mint(cfg["jwt_secret"], who))]

    try:
        home = stub.GetHome(pb.GetHomeRequest(), metadata=meta(system))
        assert home.space_id == "system"
        stub.CreateContainer(pb.CreateContainerRequest(ref=ref("/settings")), metadata=meta(system))
        with pytest.raises(grpc.RpcError) as err:
            stub.Stat(pb.StatRequest(ref=ref("/settings", space="system")), metadata=meta(LOW))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        channel.close()
    with pytest.raises(grpc.RpcError) as err:  # users reach personal spaces only
        providers.stack.call("Stat", pb.StatRequest(ref=ref("/settings", space="system")), who=LOW)
    assert err.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)


def test_a_stopped_provider_makes_its_spaces_unavailable_not_misrouted(providers: Providers) -> None:
    providers.high.stop()
    with pytest.raises(grpc.RpcError) as err:
        providers.stack.call("GetHome", pb.GetHomeRequest(), who=HIGH)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert HIGH.user_id not in spaces_in(providers.low_dir)
    assert providers.stack.call("GetHome", pb.GetHomeRequest(), who=LOW).space_id == LOW.user_id


def test_one_runtime_serves_the_same_api(dep: Deployment) -> None:
    proc = dep.start_runtime("bus,storage-users,gateway")
    stack = Stack(dep, proc, proc)
    try:
        wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway routes inside the runtime")
        assert stack.upload("/in-runtime.txt", b"same code, one PID").status == 201
        assert stack.download("/in-runtime.txt").body == b"same code, one PID"
        # The gateway calls storage-users through the client factory's in-process fast path.
        assert gateway_calls(dep, "OK", "local") >= 3 and gateway_calls(dep, "OK", "remote") == 0
    finally:
        stack.close()


def test_a_second_storage_process_on_the_same_data_dir_is_refused(providers: Providers) -> None:
    dep = providers.stack.dep
    env = {f"STORAGE_USERS_{k}_ADDR": f"127.0.0.1:{free_port()}" for k in ("GRPC", "HTTP", "DEBUG")}
    twin = dep.start_extension("storage-users", env=env, wait=False)
    wait_until(lambda: "another storage process uses this data dir" in twin.output(), what="the refusal")
    twin.stop()
