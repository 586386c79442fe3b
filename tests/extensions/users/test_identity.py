"""users and groups in one runtime, driven by the `ocis users|groups` CLI over gRPC; the admin; hashing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import grpc
import pytest

from ocisd import identity
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.identity.v1.contract import REASON_METADATA, STATUS, Kind
from tests.support.harness import Deployment
from tests.support.identity import (
    ADMIN_PASSWORD,
    IDENTITY,
    add_user,
    assert_no_secrets,
    call,
    config_value,
    identity_deployment,
    ocis_ok,
    restart_env,
    service_call,
    token_for,
)
from tests.support.postgres import Postgres


@pytest.fixture(scope="module")
def rt() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        dep.start_runtime(IDENTITY)
        yield dep


@pytest.fixture(scope="module")
def rt_postgres(postgres: Postgres) -> Iterator[Deployment]:
    """Users and groups on PostgreSQL (USERS_DRIVER / GROUPS_DRIVER, one OCIS_POSTGRES_DSN)."""
    with identity_deployment() as dep:
        dep.env.update(USERS_DRIVER="postgres", GROUPS_DRIVER="postgres", OCIS_POSTGRES_DSN=postgres.new_database())
        dep.start_runtime(IDENTITY)
        yield dep


@pytest.fixture(params=["sqlite", "postgres"])
def either(request: pytest.FixtureRequest) -> Deployment:
    """The same tests on each driver."""
    dep: Deployment = request.getfixturevalue("rt" if request.param == "sqlite" else "rt_postgres")
    return dep


def login(dep: Deployment, username: str, password: str, ip: str = "127.0.0.9") -> auth_pb2.AuthResponse:
    request = auth_pb2.BasicRequest(username=username, password=password, client_ip=ip)
    return service_call(dep, "auth-basic", auth_pb2_grpc.AuthBasicStub, "Authenticate", request)


def refused(dep: Deployment, username: str, password: str) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        login(dep, username, password)
    return err.value.code()


def test_admin_exists_with_configured_id_and_password(rt: Deployment) -> None:
    users = json.loads(ocis_ok(rt, "users", "list", "--json"))
    admin = next(u for u in users if u["username"] == "admin")
    assert admin["id"] == config_value(rt, "admin_user_id")
    assert login(rt, "admin", ADMIN_PASSWORD).user.id == admin["id"]


def test_user_lifecycle_through_the_cli(either: Deployment) -> None:
    rt = either
    alice = add_user(rt, "alice", "alice-secret-1")
    assert rt.ocis("users", "add", "ALICE", "--password-stdin", input="x\n").returncode == 1  # case-insensitive
    res = rt.ocis("users", "add", "a/b", "--password-stdin", input="pw\n")
    assert res.returncode == 1 and "invalid argument" in res.stderr, res.stderr
    admin = token_for(rt, identity.Identity(user_id=config_value(rt, "admin_user_id"), username="admin"))
    for bad in ("tab\tname", "bell\x07", "x" * 256, ""):
        with pytest.raises(grpc.RpcError) as err:
            create = users_pb2.CreateUserRequest(username=bad, password="pw")
            call(rt, "users", users_pb2_grpc.UsersStub, "CreateUser", create, admin)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    shown = json.loads(ocis_ok(rt, "users", "show", "Alice", "--json"))
    assert shown["id"] == alice and shown["enabled"] is True and "password" not in json.dumps(shown)

    response = login(rt, "alice", "alice-secret-1")
    who = identity.verify(config_value(rt, "jwt_secret"), response.token)
    assert (who.user_id, who.username) == (alice, "alice")
    assert refused(rt, "alice", "wrong") == grpc.StatusCode.UNAUTHENTICATED

    ocis_ok(rt, "users", "disable", "alice")
    # A disabled user fails exactly like a wrong password, even with a login still in the cache.
    assert refused(rt, "alice", "alice-secret-1") == grpc.StatusCode.UNAUTHENTICATED
    ocis_ok(rt, "users", "enable", alice)
    assert login(rt, "alice", "alice-secret-1").user.id == alice

    ocis_ok(rt, "users", "set-password", "alice", "--password-stdin", input="alice-secret-2\n")
    assert refused(rt, "alice", "alice-secret-1") == grpc.StatusCode.UNAUTHENTICATED
    assert login(rt, "alice", "alice-secret-2").user.id == alice

    ocis_ok(rt, "users", "delete", "alice")
    assert rt.ocis("users", "show", "alice").returncode == 1
    assert refused(rt, "alice", "alice-secret-2") == grpc.StatusCode.UNAUTHENTICATED


def test_password_is_never_taken_from_the_command_line(rt: Deployment) -> None:
    res = rt.ocis("users", "add", "carol")  # stdin is not a terminal and no --password-stdin
    assert res.returncode == 1 and "--password-stdin" in res.stderr
    assert rt.ocis("users", "add", "carol", "--password", "pw").returncode == 2


def test_groups_lifecycle_and_groups_in_the_token(either: Deployment) -> None:
    rt = either
    bob = add_user(rt, "bob", "bob-secret")
    ocis_ok(rt, "groups", "add", "staff")
    assert rt.ocis("groups", "add", "STAFF").returncode == 1
    ocis_ok(rt, "groups", "add-member", "staff", "bob")
    listed = json.loads(ocis_ok(rt, "groups", "list", "--json"))
    assert [g["members"] for g in listed if g["name"] == "staff"] == [["bob"]]
    assert json.loads(ocis_ok(rt, "users", "show", "bob", "--json"))["groups"] == ["staff"]
    assert list(login(rt, "bob", "bob-secret").groups) == ["staff"]
    who = identity.verify(config_value(rt, "jwt_secret"), login(rt, "bob", "bob-secret").token)
    assert who.group_ids == tuple(g["id"] for g in listed if g["name"] == "staff")  # what group grants name

    ocis_ok(rt, "groups", "remove-member", "staff", bob)
    assert groups_of(rt, bob) == []
    ocis_ok(rt, "groups", "add-member", "staff", "bob")
    assert groups_of(rt, bob) == ["staff"]
    ocis_ok(rt, "groups", "delete", "staff")
    assert groups_of(rt, bob) == []


def groups_of(dep: Deployment, user_id: str) -> list[str]:
    admin = token_for(dep, identity.Identity(user_id=config_value(dep, "admin_user_id"), username="admin"))
    request = groups_pb2.GroupsOfUserRequest(user_id=user_id)
    return [g.name for g in call(dep, "groups", groups_pb2_grpc.GroupsStub, "GroupsOfUser", request, admin).groups]


def test_only_the_admin_manages_accounts(rt: Deployment) -> None:
    dave = add_user(rt, "dave", "dave-secret")
    token = identity.mint(config_value(rt, "jwt_secret"), identity.Identity(user_id=dave, username="dave"))
    create = users_pb2.CreateUserRequest(username="eve", password="pw")
    with pytest.raises(grpc.RpcError) as err:
        call(rt, "users", users_pb2_grpc.UsersStub, "CreateUser", create, token)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    check = users_pb2.VerifyPasswordRequest(username="dave", password="dave-secret")
    with pytest.raises(grpc.RpcError) as err:  # only the auth extensions (system identity) check passwords
        call(rt, "users", users_pb2_grpc.UsersStub, "VerifyPassword", check, token)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    me = call(rt, "users", users_pb2_grpc.UsersStub, "GetUser", users_pb2.GetUserRequest(id=dave), token)
    assert me.username == "dave" and not hasattr(me, "password_hash")
    mine = users_pb2.UpdateUserRequest(id=dave, display_name="Dave D.")  # email stays as it was
    assert call(rt, "users", users_pb2_grpc.UsersStub, "UpdateUser", mine, token).display_name == "Dave D."
    theirs = users_pb2.UpdateUserRequest(id=config_value(rt, "admin_user_id"), display_name="pwned")
    with pytest.raises(grpc.RpcError) as err:
        call(rt, "users", users_pb2_grpc.UsersStub, "UpdateUser", theirs, token)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_users_and_groups_name_their_error_kind(rt: Deployment) -> None:
    admin = token_for(rt, identity.Identity(user_id=config_value(rt, "admin_user_id"), username="admin"))
    anyone = token_for(rt, identity.Identity(user_id="someone", username="someone"))
    add_user(rt, "grace", "grace-secret")
    ocis_ok(rt, "groups", "add", "ops")
    users, groups = ("users", users_pb2_grpc.UsersStub), ("groups", groups_pb2_grpc.GroupsStub)
    cases = [
        (users, "GetUser", users_pb2.GetUserRequest(username="nobody"), admin, Kind.NOT_FOUND),
        (users, "CreateUser", users_pb2.CreateUserRequest(username="a/b", password="pw"), admin, Kind.INVALID),
        (users, "CreateUser", users_pb2.CreateUserRequest(username="GRACE", password="pw"), admin, Kind.EXISTS),
        (users, "CreateUser", users_pb2.CreateUserRequest(username="x", password="pw"), anyone, Kind.FORBIDDEN),
        (groups, "GetGroup", groups_pb2.GetGroupRequest(name="nobody"), admin, Kind.NOT_FOUND),
        (groups, "CreateGroup", groups_pb2.CreateGroupRequest(name="OPS"), admin, Kind.EXISTS),
        (groups, "CreateGroup", groups_pb2.CreateGroupRequest(name="x"), anyone, Kind.FORBIDDEN),
    ]
    for (ext, stub), method, request, token, kind in cases:
        with pytest.raises(grpc.RpcError) as err:
            call(rt, ext, stub, method, request, token)
        assert err.value.code() == STATUS[kind], (method, request)
        assert dict(err.value.trailing_metadata())[REASON_METADATA] == kind.value, (method, request)


def test_machine_auth_acts_as_a_user_only_with_the_key(rt: Deployment) -> None:
    add_user(rt, "frank", "frank-secret")
    key = config_value(rt, "machine_auth_api_key")
    ok = service_call(
        rt,
        "auth-machine",
        auth_pb2_grpc.AuthMachineStub,
        "Authenticate",
        auth_pb2.MachineRequest(api_key=key, username="frank"),
    )
    assert identity.verify(config_value(rt, "jwt_secret"), ok.token).username == "frank"
    for wrong in ("", key[:-1], key + "x"):
        with pytest.raises(grpc.RpcError) as err:
            service_call(
                rt,
                "auth-machine",
                auth_pb2_grpc.AuthMachineStub,
                "Authenticate",
                auth_pb2.MachineRequest(api_key=wrong, username="frank"),
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_no_secret_in_any_log(rt: Deployment) -> None:
    secrets = [ADMIN_PASSWORD, "alice-secret-1", "alice-secret-2", "bob-secret", "dave-secret", "frank-secret"]
    secrets += [config_value(rt, k) for k in ("jwt_secret", "machine_auth_api_key", "transfer_secret")]
    assert assert_no_secrets(rt, secrets) > 5


def test_admin_is_not_reset_and_hashes_follow_the_parameters() -> None:
    with identity_deployment() as dep:
        proc = dep.start_runtime(IDENTITY)
        add_user(dep, "gina", "gina-secret")
        proc.stop()
        # Later: another admin password in the config, stronger argon2 parameters.
        env = {**restart_env(), "OCIS_ADMIN_PASSWORD": "changed-in-config", "USERS_ARGON2_TIME_COST": "2"}
        dep.start_runtime(IDENTITY, env=env)
        assert login(dep, "admin", ADMIN_PASSWORD).user.username == "admin"
        assert refused(dep, "admin", "changed-in-config") == grpc.StatusCode.UNAUTHENTICATED

        def stored_hash() -> str:
            with sqlite3.connect(dep.data_dir / "users" / "users.db") as db:
                return str(db.execute("SELECT password_hash FROM users WHERE username = 'gina'").fetchone()[0])

        assert stored_hash().startswith("$argon2id$v=19$m=8192,t=1,p=1$")
        login(dep, "gina", "gina-secret")
        assert stored_hash().startswith("$argon2id$v=19$m=8192,t=2,p=1$")  # rehashed at login
        assert login(dep, "gina", "gina-secret", ip="127.0.0.8").user.username == "gina"
        assert_no_secrets(dep, [ADMIN_PASSWORD, "changed-in-config", "gina-secret"])
