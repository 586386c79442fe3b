"""The sharing service as its own process: shares survive a SIGKILL (on SQLite, and on PostgreSQL with users and
groups there too), a bad store driver stops the start."""

from __future__ import annotations

import signal

import grpc
import pytest

from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from tests.support.harness import deployment
from tests.support.identity import service_call

from .stack import setup

BACKEND_WITHOUT_SHARING = "bus,users,groups,gateway,storage-users"


@pytest.mark.parametrize("driver", ["sqlite", "postgres"])
def test_shares_survive_a_sigkill_of_the_sharing_process(driver: str, request: pytest.FixtureRequest) -> None:
    with deployment() as dep:
        if driver == "postgres":
            pg = request.getfixturevalue("postgres")
            dsn = pg.new_database()
            dep.env.update({f"{ext}_DRIVER": driver for ext in ("SHARING", "USERS", "GROUPS")})
            dep.env["OCIS_POSTGRES_DSN"] = dsn
        sharing = dep.start_extension("sharing")
        stack = setup(dep, BACKEND_WITHOUT_SHARING)
        try:
            folder = stack.mkdir("/kept")
            user_share = stack.share("alice", folder.id, spb.SHARE_TYPE_USER, "bob", perms=1)
            link = stack.share("alice", folder.id, spb.SHARE_TYPE_LINK, perms=1, password="pw")
            stack.answer("bob", user_share.id, spb.SHARE_STATE_ACCEPTED, "kept by bob")

            sharing.signal(signal.SIGKILL)
            sharing.popen.wait(10)
            dep.start_extension("sharing", env={"OCIS_SHARING_PUBLIC_WRITEABLE_SHARE_MUST_HAVE_PASSWORD": "true"})
            (got,) = [r for r in stack.received("bob") if r.share.id == user_share.id]
            assert got.state == spb.SHARE_STATE_ACCEPTED and got.mount_point == "kept by bob"
            request = spb.GetLinkByTokenRequest(token=link.token)
            found = service_call(dep, "sharing", sharing_pb2_grpc.SharingStub, "GetLinkByToken", request)
            assert found.share.id == link.id and found.password_hash

            # Now links that take uploads need a password; read-only ones still do not.
            with pytest.raises(grpc.RpcError) as refused:
                stack.share("alice", folder.id, spb.SHARE_TYPE_LINK, perms=7)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert stack.share("alice", folder.id, spb.SHARE_TYPE_LINK, perms=7, password="pw").has_password
            assert not stack.share("alice", folder.id, spb.SHARE_TYPE_LINK, perms=1).has_password
            if driver == "postgres":  # the rows are where the drivers say: 4 shares; the admin and 4 users
                counts = "SELECT (SELECT count(*) FROM sharing.shares) || ' ' || (SELECT count(*) FROM users.users)"
                found = pg.psql(dsn.rsplit("/", 1)[1], counts).stdout.split()
                assert found == ["4", "5"], found
        finally:
            stack.close()


def test_an_unknown_store_driver_stops_the_start() -> None:
    with deployment() as dep:
        res = dep.ocis("sharing", "server", env={"SHARING_DRIVER": "nosuch"})
        assert res.returncode == 2 and "sharing.driver" in res.stderr, res.stderr
