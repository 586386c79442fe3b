"""Failures across a split deployment, on loopback: real processes, real supervisord, real SIGKILL.

Laid out as on three hosts: the front (bus, gateway, ocdav, proxy) in one runtime, the identity
extensions in another, and two storage-users instances splitting `home_range` 00-7f / 80-ff, each
under its own supervisord. A SIGKILLed storage instance makes its half of the users 503 with
Retry-After (PROPFIND, GET, PUT), leaves the other half working, and all recover once supervisord
restarts it; unreachable identity extensions make new logins 503 with Retry-After while sessions
the proxy knows keep working; nothing acknowledged is lost.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest

from ocisd import identity as ids
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import home_space_id, shard
from ocisd.supervisor.config import program_name
from ocisd.supervisor.control import Supervisor, pidfile_pid
from tests.support.harness import Deployment, Proc, free_port, kill_supervisor, wait_until
from tests.support.identity import (
    ADMIN_PASSWORD,
    add_user,
    basic,
    call,
    config_value,
    identity_deployment,
    ocis_ok,
    token_for,
)
from tests.support.webdav_stack import DavStack, Reply

FRONT = "bus,gateway,ocdav,proxy"
IDENTITY = "users,groups,auth-basic,auth-bearer,auth-machine"
HALVES = ("00-7f", "80-ff")


@dataclass
class Split:
    dep: Deployment
    identity: Proc
    users: dict[str, DavStack]  # home range -> a user whose personal space it holds
    ids: dict[str, str]  # home range -> that user's id
    fresh: tuple[str, str]  # a user who never logged in through the proxy: (name, password)

    def supervisor(self, half: str) -> Supervisor:
        return Supervisor(self.dep.root / f"sup-{half}", env=self.dep.env)


def half_of(user_id: str) -> str:
    return next(h for h in HALVES if h[:2] <= shard(home_space_id(user_id)) <= h[3:])


def dav(dep: Deployment, name: str, password: str) -> DavStack:
    root = f"https://{dep.addr('proxy', 'http_addr')}"
    return DavStack(
        root, f"/remote.php/dav/files/{name}", {"Authorization": basic(name, password)}, True, name, password
    )


def start_half(dep: Deployment, half: str) -> None:
    """One storage-users instance for `half` under its own supervisord (as on host B), ready."""
    env = {
        "OCIS_BASE_DATA_PATH": str(dep.root / f"data-{half}"),
        "STORAGE_USERS_HOME_RANGE": half,
        "STORAGE_USERS_PROVIDER_ID": f"users-{half}",
        **{f"STORAGE_USERS_{k}_ADDR": f"127.0.0.1:{free_port(dep.ports)}" for k in ("GRPC", "HTTP", "DEBUG")},
    }
    directory = str(dep.root / f"sup-{half}")
    ocis_ok(dep, "supervisor", "generate", "--dir", directory, "--extensions", "storage-users", env=env)
    ocis_ok(dep, "supervisor", "start", "--dir", directory, env=env)
    dep.wait_ready("storage-users", env=env)


@pytest.fixture(scope="module")
def split() -> Iterator[Split]:
    with identity_deployment() as dep:
        dep.env.update(
            OCIS_GRPC_NO_INSTANCE_WAIT="2s",  # how long a request waits for a restarting instance before its 503
            PROXY_AUTH_CACHE_TTL="600s",  # sessions outlive the test's outage
            PROXY_ACCESS_LOG="false",
        )
        try:
            front = dep.start_runtime(FRONT, wait=False)
            identity = dep.start_runtime(IDENTITY, env={"OCIS_RUNTIME_ADDR": f"127.0.0.1:{free_port(dep.ports)}"})
            for half in HALVES:
                start_half(dep, half)
            dep.wait_runtime(front, FRONT.split(","))
            admin = config_value(dep, "admin_user_id")
            users, user_ids = {half_of(admin): dav(dep, "admin", ADMIN_PASSWORD)}, {half_of(admin): admin}
            for i in range(32):  # user ids are random: until both halves hold someone
                if len(users) == len(HALVES):
                    break
                name, password = f"user{i}", f"pw-{i}-{secrets.token_hex(4)}"
                user_id = add_user(dep, name, password)
                users.setdefault(half_of(user_id), dav(dep, name, password))
                user_ids.setdefault(half_of(user_id), user_id)
            assert len(users) == len(HALVES), "no user id fell into each half"
            fresh = ("carol", "carol-" + secrets.token_hex(4))
            add_user(dep, *fresh)
            wait_until(lambda: all(propfind(u).status == 207 for u in users.values()), 30, what="files via the proxy")
            yield Split(dep, identity, users, user_ids, fresh)
        finally:
            for half in HALVES:
                kill_supervisor(dep.root / f"sup-{half}")


def propfind(user: DavStack, path: str = "") -> Reply:
    return user.request("PROPFIND", path, b"", {"Depth": "1"})


def space_ids(split: Split, half: str) -> list[str]:
    """ListSpaces through the gateway, as its user (graph's drive list asks this)."""
    who = ids.Identity(user_id=split.ids[half], username=split.users[half].user)
    reply = call(
        split.dep, "gateway", pb_grpc.StorageStub, "ListSpaces", pb.ListSpacesRequest(), token_for(split.dep, who)
    )
    return [space.id for space in reply.spaces]


def dead_or_zombie(proc: psutil.Process) -> bool:
    """Its parent stopped, a killed process stays a zombie (its sockets closed) until reaped."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def unavailable(reply: Reply) -> bool:
    return reply.status == 503 and int(reply.headers["Retry-After"]) > 0


def test_a_killed_storage_instance_is_503_for_its_half_only_until_supervisord_restarts_it(split: Split) -> None:
    written = {half: secrets.token_bytes(70_000) for half in HALVES}
    for half, user in split.users.items():
        assert user.request("PUT", "before.bin", written[half]).status in (201, 204)
    dead, alive = HALVES[1], HALVES[0]
    sup = split.supervisor(dead)
    instance = psutil.Process(sup.pid_of(program_name("storage-users")))
    supervisord = pidfile_pid(split.dep.root / f"sup-{dead}")
    assert supervisord is not None
    os.kill(supervisord, signal.SIGSTOP)  # it restarts the instance when the test has looked at the outage
    try:
        os.kill(instance.pid, signal.SIGKILL)
        wait_until(lambda: dead_or_zombie(instance), 10, what="the SIGKILLed instance gone")
        victim, other = split.users[dead], split.users[alive]
        assert home_space_id(split.ids[alive]) in space_ids(split, alive)  # the dead provider is left out
        assert unavailable(propfind(victim))
        assert unavailable(victim.request("GET", "before.bin"))
        assert unavailable(victim.request("PUT", "during.bin", b"never acknowledged"))
        assert propfind(other).status == 207
        assert other.request("GET", "before.bin").body == written[alive]
        assert other.request("PUT", "during.bin", b"acknowledged").status == 201
    finally:
        os.kill(supervisord, signal.SIGCONT)
    wait_until(lambda: sup.pid_of(program_name("storage-users")) not in (0, instance.pid), 30, what="a restart")
    wait_until(lambda: propfind(split.users[dead]).status == 207, 30, what="the killed half back")
    for half, user in split.users.items():
        assert user.request("GET", "before.bin").body == written[half]
    assert split.users[dead].request("GET", "during.bin").status == 404  # refused, so nothing half-written
    assert split.users[alive].request("GET", "during.bin").body == b"acknowledged"


def test_unreachable_identity_refuses_new_logins_with_503_and_keeps_sessions(split: Split) -> None:
    established = next(iter(split.users.values()))
    assert propfind(established).status == 207  # its Authorization is in the proxy's cache now
    newcomer = dav(split.dep, *split.fresh)
    wrong = dav(split.dep, split.fresh[0], "not-the-password")
    bearer = DavStack(newcomer.root, newcomer.base, {"Authorization": "Bearer " + secrets.token_urlsafe(32)}, True)
    split.identity.signal(signal.SIGSTOP)  # as a cut link: no answers, no heartbeats, no refused connections
    try:
        for login in (newcomer, wrong, bearer):
            assert unavailable(propfind(login))
        assert propfind(established).status == 207
        assert established.request("PUT", "while-identity-is-away.txt", b"kept").status in (201, 204)
    finally:
        split.identity.signal(signal.SIGCONT)
    wait_until(lambda: propfind(newcomer).status == 207, 30, what="logins once identity is back")
    assert propfind(wrong).status == 401 and propfind(bearer).status == 401
    assert established.request("GET", "while-identity-is-away.txt").body == b"kept"
