"""The identity extensions as supervised processes (real supervisord): the same CLI, the same answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc
from tests.support.harness import Deployment
from tests.support.identity import (
    IDENTITY,
    add_user,
    assert_no_secrets,
    identity_deployment,
    ocis_ok,
    service_call,
    under_supervisord,
)


@pytest.fixture
def supervised() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        with under_supervisord(dep, IDENTITY):
            yield dep


def test_cli_against_supervised_processes(supervised: Deployment) -> None:
    dep = supervised
    status = json.loads(ocis_ok(dep, "supervisor", "status", "--json", "--dir", str(dep.root / "sup")))
    pids = {row["name"]: row["pid"] for row in status}
    assert len(set(pids.values())) == len(IDENTITY.split(","))  # one process each

    alice = add_user(dep, "alice", "alice-secret")
    ocis_ok(dep, "groups", "add", "staff")
    ocis_ok(dep, "groups", "add-member", "staff", "alice")
    login = auth_pb2.BasicRequest(username="alice", password="alice-secret", client_ip="127.0.0.1")
    reply = service_call(dep, "auth-basic", auth_pb2_grpc.AuthBasicStub, "Authenticate", login)
    assert (reply.user.id, list(reply.groups)) == (alice, ["staff"])

    ocis_ok(dep, "users", "disable", "alice")
    with pytest.raises(grpc.RpcError) as err:
        service_call(dep, "auth-basic", auth_pb2_grpc.AuthBasicStub, "Authenticate", login)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    ocis_ok(dep, "users", "delete", "alice")
    ocis_ok(dep, "groups", "delete", "staff")
    assert [u["username"] for u in json.loads(ocis_ok(dep, "users", "list", "--json"))] == ["admin"]
    assert assert_no_secrets(dep, ["alice-secret", "admin-pw-for-tests"]) > 0
