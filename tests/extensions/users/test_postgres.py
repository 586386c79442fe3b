"""users, groups and store on a PostgreSQL that goes away and comes back, and across a SIGKILL;
`ocis <name> migrate`; a missing DSN."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc

from ocisd import identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.store.v1 import store_pb2, store_pb2_grpc
from tests.support import identity as support
from tests.support.harness import Deployment, deployment, free_port, wait_until
from tests.support.postgres import Postgres, running_postgres

RUN = "bus,users,groups,store"
ON_POSTGRES = {"USERS_DRIVER": "postgres", "GROUPS_DRIVER": "postgres", "STORE_DRIVER": "postgres"}
MIGRATING = ("users", "groups", "sharing", "store")
READ = store_pb2.ReadRequest(namespace="n", key="k")


def codes(dep: Deployment, user_id: str) -> list[grpc.StatusCode]:
    """How a users, a groups and a store call end (OK when they answer)."""
    admin = support.token_for(
        dep, identity.Identity(user_id=support.config_value(dep, "admin_user_id"), username="admin")
    )
    get_user, list_groups = users_pb2.GetUserRequest(id=user_id), groups_pb2.ListGroupsRequest()
    calls: list[Callable[[], Any]] = [
        lambda: support.call(dep, "users", users_pb2_grpc.UsersStub, "GetUser", get_user, admin),
        lambda: support.call(dep, "groups", groups_pb2_grpc.GroupsStub, "ListGroups", list_groups, admin),
        lambda: support.service_call(dep, "store", store_pb2_grpc.StoreStub, "Read", READ),
    ]
    found = []
    for run in calls:
        try:
            run()
            found.append(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            found.append(exc.code())
    return found


def test_a_database_outage_answers_unavailable_and_all_comes_back_and_survives_sigkill() -> None:
    with running_postgres() as pg, support.identity_deployment() as dep:
        dep.env.update(ON_POSTGRES, OCIS_POSTGRES_DSN=pg.new_database())
        dep.start_runtime(RUN)
        alice = support.add_user(dep, "alice", "alice-secret")
        support.ocis_ok(dep, "groups", "add", "staff")
        support.ocis_ok(dep, "groups", "add-member", "staff", "alice")
        support.service_call(
            dep, "store", store_pb2_grpc.StoreStub, "Write", store_pb2.WriteRequest(namespace="n", key="k")
        )
        assert codes(dep, alice) == [grpc.StatusCode.OK] * 3

        pg.stop()
        assert codes(dep, alice) == [grpc.StatusCode.UNAVAILABLE] * 3
        pg.start()
        wait_until(lambda: codes(dep, alice) == [grpc.StatusCode.OK] * 3, 30, what="calls to work again")
        dep.procs[-1].kill()  # SIGKILL: what was answered is in PostgreSQL
        dep.start_runtime(RUN, env=support.restart_env())
        assert [g["members"] for g in json.loads(support.ocis_ok(dep, "groups", "list", "--json"))] == [["alice"]]
        assert codes(dep, alice) == [grpc.StatusCode.OK] * 3


def test_migrate_commands_and_a_missing_dsn(postgres: Postgres) -> None:
    with deployment() as dep:
        dsn = postgres.new_database()
        for name in MIGRATING:
            env = {f"{name.upper()}_DRIVER": "postgres", f"{name.upper()}_POSTGRES_DSN": dsn}
            assert f"applied {name} 1: " in support.ocis_ok(dep, name, "migrate", env=env)
            assert "up to date" in support.ocis_ok(dep, name, "migrate", env=env)
            on_sqlite = dep.ocis(name, "migrate")
            assert on_sqlite.returncode == 2 and "only the postgres driver" in on_sqlite.stderr, on_sqlite.stderr
        assert postgres.psql(dsn.rsplit("/", 1)[1], "SELECT count(*) FROM store.schema_migrations").stdout == "1\n"

        no_dsn = dep.ocis("users", "migrate", env={"USERS_DRIVER": "postgres"})
        assert no_dsn.returncode == 2 and "USERS_POSTGRES_DSN" in no_dsn.stderr, no_dsn.stderr
        nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
        unreachable = dep.ocis("groups", "migrate", env={"GROUPS_DRIVER": "postgres", "OCIS_POSTGRES_DSN": nobody})
        assert unreachable.returncode == 2 and "PostgreSQL at 127.0.0.1" in unreachable.stderr, unreachable.stderr
        refused = dep.ocis("users", "server", env={"USERS_DRIVER": "postgres"})
        assert refused.returncode == 2 and "the postgres driver needs a DSN" in refused.stderr, refused.stderr
