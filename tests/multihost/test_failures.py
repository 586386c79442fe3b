"""Failures across three hosts (network namespaces, tests/support/multihost.py), seen by clients on the network.

- A storage-users instance on B SIGKILLed (by PID, inside B): its half of the users gets 503 with
  Retry-After, the other half keeps working, and all recover once B's supervisord restarts it.
- Host C's cable pulled: logins fail with 503 and Retry-After, sessions the proxy on A already knows keep
  working for their cache lifetime, and logins come back with the link.
- Nothing acknowledged is lost: files written before each failure read back byte-identical after.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from ocisd.supervisor.control import pidfile_pid
from tests.support import tools
from tests.support.harness import wait_until
from tests.support.multihost import HALVES, ThreeHosts, dav_as, three_hosts
from tests.support.webdav_stack import DavStack, Reply

pytestmark = tools.needs("ip", "unshare")
PROGRAMS = {HALVES[0]: "ocis-storage-users", HALVES[1]: "ocis-storage-users-2"}  # as generated on B


@pytest.fixture(scope="module")
def deployed() -> Iterator[ThreeHosts]:
    with three_hosts() as d:
        yield d


def propfind(user: DavStack) -> Reply:
    return user.request("PROPFIND", "", b"", {"Depth": "1"})


def unavailable(reply: Reply) -> bool:
    return reply.status == 503 and int(reply.headers.get("Retry-After", "0")) > 0


def signal_on_b(deployed: ThreeHosts, sig: str, pid: int) -> None:
    res = deployed.hosts.run("b", ["kill", f"-{sig}", str(pid)])
    assert res.returncode == 0, res.stderr


def add_user(deployed: ThreeHosts, name: str) -> DavStack:
    password = secrets.token_hex(8)
    res = deployed.c.ocis("users", "add", name, "--password-stdin", input=password + "\n")
    assert res.returncode == 0, res.stdout + res.stderr
    return dav_as(deployed.dav.root, name, password)


def test_a_killed_storage_instance_on_b_is_503_for_its_half_until_supervisord_restarts_it(
    deployed: ThreeHosts,
) -> None:
    dead, alive = HALVES[1], HALVES[0]
    written = {half: secrets.token_bytes(300_000) for half in HALVES}
    supervisord = pidfile_pid(deployed.b.sup_dir)
    assert supervisord is not None
    with deployed.client():
        users = {half: deployed.as_user(half) for half in HALVES}
        for half, user in users.items():
            assert user.request("PUT", "before-kill.bin", written[half]).status in (201, 204)
        instance = deployed.b.pids()[PROGRAMS[dead]]
        signal_on_b(deployed, "STOP", supervisord)  # it restarts the instance once the outage is looked at
        try:
            signal_on_b(deployed, "KILL", instance)
            assert unavailable(propfind(users[dead]))
            assert unavailable(users[dead].request("GET", "before-kill.bin"))
            assert unavailable(users[dead].request("PUT", "during-kill.bin", b"never acknowledged"))
            assert propfind(users[alive]).status == 207
            assert users[alive].request("GET", "before-kill.bin").body == written[alive]
            assert users[alive].request("PUT", "during-kill.bin", b"acknowledged").status == 201
        finally:
            signal_on_b(deployed, "CONT", supervisord)
        wait_until(lambda: deployed.b.pids().get(PROGRAMS[dead], instance) != instance, 60, what="a restart on B")
        wait_until(lambda: propfind(users[dead]).status == 207, 60, what="the killed half back")
        for half, user in users.items():
            assert user.request("GET", "before-kill.bin").body == written[half]
        assert users[dead].request("GET", "during-kill.bin").status == 404
        assert users[alive].request("GET", "during-kill.bin").body == b"acknowledged"


def test_host_c_unplugged_refuses_logins_with_503_and_keeps_sessions(deployed: ThreeHosts) -> None:
    established, newcomer = add_user(deployed, "settled"), add_user(deployed, "newcomer")
    wrong = dav_as(deployed.dav.root, newcomer.user, "not-the-password")
    bearer = DavStack(newcomer.root, newcomer.base, {"Authorization": "Bearer " + secrets.token_urlsafe(32)}, True)
    kept = secrets.token_bytes(100_000)
    with deployed.client():
        assert established.request("PUT", "before-unplug.bin", kept).status == 201  # A's proxy knows it now
        deployed.hosts.link_down("c")
        try:
            # First, within the proxy's cache lifetime of that login: the session goes on without C.
            assert established.request("GET", "before-unplug.bin").body == kept
            assert established.request("PUT", "while-c-is-away.txt", b"stored on B").status == 201
            for login in (newcomer, wrong, bearer):
                assert unavailable(propfind(login))
        finally:
            deployed.hosts.link_up("c")
        wait_until(lambda: propfind(newcomer).status == 207, 60, what="logins once C is back")
        assert propfind(wrong).status == 401 and propfind(bearer).status == 401
        assert established.request("GET", "before-unplug.bin").body == kept
        assert established.request("GET", "while-c-is-away.txt").body == b"stored on B"
