"""store: records with versions and TTL for service identities only, kept across a SIGKILL; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from ocisd import identity
from ocisd.api.store.v1 import store_pb2 as pb
from ocisd.api.store.v1 import store_pb2_grpc as pb_grpc
from tests.support.harness import Deployment, deployment, wait_until
from tests.support.identity import call, restart_env, service_call, token_for

RUN = "bus,store"
LIMIT = {"STORE_MAX_VALUE_SIZE": "1KiB", "STORE_SWEEP_INTERVAL": "200ms"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dep(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    with deployment() as d:
        d.env.update(LIMIT)
        if request.param == "postgres":
            d.env.update(STORE_DRIVER="postgres", STORE_POSTGRES_DSN=request.getfixturevalue("postgres").new_database())
        d.start_runtime(RUN)
        yield d


def store(dep: Deployment, method: str, request: object) -> object:
    return service_call(dep, "store", pb_grpc.StoreStub, method, request)


def code_of(dep: Deployment, method: str, request: object, token: str | None = None) -> grpc.StatusCode:
    """The status a call ends with (OK when it answers)."""
    try:
        if token is None:
            store(dep, method, request)
        else:
            call(dep, "store", pb_grpc.StoreStub, method, request, token)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_write_read_list_delete(dep: Deployment) -> None:
    written = store(dep, "Write", pb.WriteRequest(namespace="crud", key="a", value=b"one"))
    assert (written.key, written.version, written.expires) == ("a", 1, 0)
    assert store(dep, "Read", pb.ReadRequest(namespace="crud", key="a")).value == b"one"
    for key in ("b/1", "b/2", "b/3", "c"):
        store(dep, "Write", pb.WriteRequest(namespace="crud", key=key, value=key.encode()))
    page = store(dep, "List", pb.ListRequest(namespace="crud", prefix="b/", limit=2, values=True))
    assert [(r.key, r.value) for r in page.records] == [("b/1", b"b/1"), ("b/2", b"b/2")] and page.more
    rest = store(dep, "List", pb.ListRequest(namespace="crud", prefix="b/", after="b/2"))
    assert [(r.key, r.value) for r in rest.records] == [("b/3", b"")] and not rest.more
    assert [r.key for r in store(dep, "List", pb.ListRequest(namespace="other")).records] == []
    assert store(dep, "Delete", pb.DeleteRequest(namespace="crud", key="a")).deleted
    assert not store(dep, "Delete", pb.DeleteRequest(namespace="crud", key="a")).deleted
    assert code_of(dep, "Read", pb.ReadRequest(namespace="crud", key="a")) == grpc.StatusCode.NOT_FOUND


def test_versions_guard_read_modify_write(dep: Deployment) -> None:
    first = store(dep, "Write", pb.WriteRequest(namespace="v", key="k", value=b"1"))
    second = store(dep, "Write", pb.WriteRequest(namespace="v", key="k", value=b"2", expect_version=first.version))
    assert second.version == first.version + 1
    stale = pb.WriteRequest(namespace="v", key="k", value=b"lost", expect_version=first.version)
    assert code_of(dep, "Write", stale) == grpc.StatusCode.FAILED_PRECONDITION
    missing = pb.WriteRequest(namespace="v", key="none", value=b"x", expect_version=3)
    assert code_of(dep, "Write", missing) == grpc.StatusCode.FAILED_PRECONDITION
    assert store(dep, "Read", pb.ReadRequest(namespace="v", key="k")).value == b"2"


def test_ttl_expires_records(dep: Deployment) -> None:
    kept = store(dep, "Write", pb.WriteRequest(namespace="ttl", key="short", value=b"x", ttl_seconds=0.5))
    assert kept.expires > 0
    store(dep, "Write", pb.WriteRequest(namespace="ttl", key="long", value=b"y", ttl_seconds=3600))

    def expired() -> bool:
        return code_of(dep, "Read", pb.ReadRequest(namespace="ttl", key="short")) == grpc.StatusCode.NOT_FOUND

    wait_until(expired, what="the short record to expire")
    assert [r.key for r in store(dep, "List", pb.ListRequest(namespace="ttl")).records] == ["long"]


def test_refuses_users_and_bad_input(dep: Deployment) -> None:
    user = token_for(dep, identity.Identity(user_id="u-1", username="alice"))
    read = pb.ReadRequest(namespace="crud", key="b/1")
    assert code_of(dep, "Read", read, token=user) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(dep, "Read", read, token="") == grpc.StatusCode.UNAUTHENTICATED
    bad = [
        pb.WriteRequest(namespace="", key="k", value=b""),
        pb.WriteRequest(namespace="n", key="k" * 256, value=b""),
        pb.WriteRequest(namespace="n", key="k", value=b"x" * 1025),
        pb.WriteRequest(namespace="n", key="k", value=b"", ttl_seconds=-1),
    ]
    for request in bad:
        assert code_of(dep, "Write", request) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(dep, "List", pb.ListRequest(namespace="n", limit=1001)) == grpc.StatusCode.INVALID_ARGUMENT


def test_sigkill_keeps_answered_writes(dep: Deployment) -> None:
    for i in range(20):
        store(dep, "Write", pb.WriteRequest(namespace="durable", key=f"k{i:02}", value=str(i).encode()))
    dep.procs[-1].kill()
    dep.start_runtime(RUN, env=restart_env())
    found = store(dep, "List", pb.ListRequest(namespace="durable", values=True)).records
    assert [(r.key, r.value) for r in found] == [(f"k{i:02}", str(i).encode()) for i in range(20)]


def test_an_unknown_driver_stops_the_start() -> None:
    with deployment() as d:
        res = d.ocis("store", "server", env={"STORE_DRIVER": "nosuch"})
        assert res.returncode == 2 and "store.driver must be one of sqlite, postgres" in res.stderr, res.stderr
