"""One deployment across three hosts (tests/support/netns.py), set up with the commands an operator uses.

`ocis init` once; the config dir (secrets and the bus's CURVE keys) copied to
each host; `ocis supervisor generate` on each host with its share of the
extensions; supervisord started inside each host's namespaces:

- A: the bus broker, proxy, ocdav, frontend, ocs, gateway, storage-shares;
- B: two storage-users instances splitting home_range 00-7f / 80-ff, their metadata in PostgreSQL and
  their blobs in SeaweedFS (S3), both on B;
- C: users, groups, auth-basic, auth-bearer, auth-machine and sharing, their rows in B's PostgreSQL.

Every listener binds a wildcard on its default port, and each host finds its
address its own way: A by its default route, B from OCIS_ADVERTISE_HOST, C's
users service binds its one address. The test process reaches the proxy from
the switch (`ThreeHosts.client()`), as a client on the network would.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from base64 import b64encode
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore.config import Config

from ocisd.api.storage.v1.contract import home_space_id, shard
from ocisd.config.schema import env_name, env_prefix, settings_of
from ocisd.discovery import installed
from ocisd.supervisor.control import Supervisor
from tests.support import sets, webdav_stack
from tests.support.harness import BIN, Deployment, deployment, kill_supervisor, wait_until
from tests.support.netns import CLIENT, Hosts
from tests.support.postgres import Postgres, running_postgres
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs

EXTENSIONS = {
    "a": ("bus", "proxy", "ocdav", "frontend", "ocs", "gateway", "storage-shares"),
    "b": ("storage-users",),
    "c": (*sets.IDENTITY[1:], "sharing"),
}
BUS_PORTS = (9233, 9234)
PROXY_PORT = 9200
# The storage on B: metadata in B's PostgreSQL (both instances in one database, a schema each), blobs in B's
# SeaweedFS (one bucket, a prefix each). sqlite / local here run the same deployment on B's disk.
STORAGE_ENV: dict[str, str] = {"STORAGE_USERS_METADATA": "postgres", "STORAGE_USERS_BLOBS": "s3"}
IDENTITY_ENV = {"USERS_DRIVER": "postgres", "GROUPS_DRIVER": "postgres", "SHARING_DRIVER": "postgres"}
BUCKET = "ocisd-users"
HALVES = ("00-7f", "80-ff")
CLONE_NEWNET = 0x40000000


@dataclass
class Host:
    """One host: its name (a|b|c), address, directory (config/, data/, sup/) and environment."""

    name: str
    address: str
    root: Path
    env: dict[str, str]
    extensions: tuple[str, ...]
    hosts: Hosts = field(repr=False)

    @property
    def sup_dir(self) -> Path:
        return self.root / "sup"

    def ocis(self, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`ocis ARGS` run on this host, with its environment."""
        return self.hosts.run(self.name, [str(BIN / "ocis"), *args], env=self.env, input=input, timeout=timeout)

    def supervisor(self, *args: str) -> str:
        """`ocis supervisor ARGS --dir <sup>` on this host; its output, or AssertionError when it fails."""
        res = self.ocis("supervisor", *args, "--dir", str(self.sup_dir))
        assert res.returncode == 0, f"host {self.name}: ocis supervisor {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        return res.stdout + res.stderr

    def pids(self) -> dict[str, int]:
        """The PID of every RUNNING program of this host's supervisord (over its unix socket)."""
        return {r["name"]: int(r["pid"]) for r in Supervisor(self.sup_dir).status() if r["state"] == "RUNNING"}


class OnHost(Deployment):
    """A deployment as seen from one host: its `ocis` commands run there (for helpers written for one host)."""

    def __init__(self, dep: Deployment, host: Host) -> None:  # its ports and dirs are `dep`'s: no super().__init__
        self.__dict__.update(dep.__dict__)
        self.host = host

    def ocis(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.host.ocis(*args, input=input, timeout=timeout)


@dataclass
class ThreeHosts:
    dep: Deployment  # the temp root, where `ocis init` ran
    hosts: Hosts
    a: Host
    b: Host
    c: Host
    postgres: Postgres  # on B, listening on B's address
    s3: SeaweedFS  # on B, its S3 gateway on B's address
    dav: webdav_stack.DavStack  # the admin's files through A's proxy, from the switch
    users: dict[str, tuple[str, str]]  # home half ("00-7f"|"80-ff") → (username, password)
    user_ids: dict[str, str] = field(default_factory=dict)  # home half → that user's id (its space id)

    def host(self, name: str) -> Host:
        return {"a": self.a, "b": self.b, "c": self.c}[name]

    def on(self, host: Host) -> OnHost:
        return OnHost(self.dep, host)

    @contextmanager
    def client(self) -> Iterator[None]:
        """This thread on the switch's network (subprocesses it starts too): where clients reach A's proxy."""
        with inside_netns(self.hosts.namespaces[CLIENT]):
            yield

    def as_user(self, half: str) -> webdav_stack.DavStack:
        user, password = self.users[half]
        return dav_as(self.dav.root, user, password)

    def blob_keys(self, prefix: str) -> list[str]:
        """The keys under `prefix` in B's S3 bucket (asked from the switch)."""
        s3 = self.s3
        with self.client():
            client = botocore.session.get_session().create_client(
                "s3", endpoint_url=s3.endpoint, region_name=s3.region, aws_access_key_id=s3.access_key,
                aws_secret_access_key=s3.secret_key, config=Config(s3={"addressing_style": "path"}),
            )  # fmt: skip
            listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    def access_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.a.sup_dir / "logs").glob("ocis-proxy*.log"))

    def registry(self) -> list[dict[str, object]]:
        """`ocis registry --json` as run on host A."""
        return list(json.loads(self.a.ocis("registry", "--json").stdout or "[]"))


def dav_as(root: str, user: str, password: str) -> webdav_stack.DavStack:
    """`user`'s files at the proxy `root`, with Basic auth."""
    basic = b64encode(f"{user}:{password}".encode()).decode()
    return webdav_stack.DavStack(
        root, f"/remote.php/dav/files/{user}", {"Authorization": f"Basic {basic}"}, True, user, password
    )


@contextmanager
def inside_netns(ns: str) -> Iterator[None]:
    """Move the calling thread into network namespace `ns` (`ip netns` names it), and back at the end."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns}")
        yield
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)


def listen_env(names: tuple[str, ...], host: str = "0.0.0.0") -> dict[str, str]:
    """Every address of `names` on `host` with its default port: what a host of its own can use."""
    known = installed()
    out = {}
    for name in names:
        cls = known[name].config
        if cls is None:
            continue
        for s in settings_of(cls):
            if s.key.endswith("_addr"):
                port = str(s.default).rpartition(":")[2]
                out[env_name(env_prefix(name), s.key)] = f"{host}:{port}"
    return out


def host_env(dep: Deployment, hosts: Hosts, name: str, root: Path, db: Postgres, s3: SeaweedFS) -> dict[str, str]:
    a = hosts.address("a")
    base = {k: v for k, v in dep.env.items() if not k.startswith("OCIS_") and not Deployment._is_extension_var(k)}
    env = {
        **base,
        "OCIS_CONFIG_DIR": str(root / "config"),
        "OCIS_BASE_DATA_PATH": str(root / "data"),
        "OCIS_BUS_PUB_ADDR": f"tcp://{a}:{BUS_PORTS[0]}",
        "OCIS_BUS_SUB_ADDR": f"tcp://{a}:{BUS_PORTS[1]}",
        "OCIS_URL": f"https://{a}:{PROXY_PORT}",
        "PROXY_ACCESS_LOG": "true",  # what clients sent, in A's proxy log (`ThreeHosts.access_log`)
        **listen_env(EXTENSIONS[name]),
    }
    if name == "b":  # an operator names the address; A finds its own from its default route
        env.update(OCIS_ADVERTISE_HOST=hosts.address("b"), STORAGE_USERS_POSTGRES_DSN=db.new_database("storage"))
        env.update({**s3.settings("STORAGE_USERS", BUCKET), **STORAGE_ENV})
    if name == "c":  # a listener bound to one address announces that one; three wrong passwords lock out
        env["AUTH_BASIC_USER_IP_LOCKOUT"] = "3"
        # users, groups and sharing in one database on B, a schema each (OCIS_POSTGRES_DSN serves all three)
        env.update(OCIS_POSTGRES_DSN=db.new_database("identity"), **IDENTITY_ENV)
        env["USERS_GRPC_ADDR"] = f"{hosts.address('c')}:{listen_env(('users',))['USERS_GRPC_ADDR'].rpartition(':')[2]}"
    return env


def generate(host: Host) -> None:
    args = ["generate", "--extensions", ",".join(host.extensions)]
    if host.name == "b":
        lo, hi = (f"users-{h}" for h in HALVES)
        args += ["--instances", "storage-users=2"]
        args += ["--program-env", f"ocis-storage-users:STORAGE_USERS_HOME_RANGE={HALVES[0]}"]
        args += ["--program-env", f"ocis-storage-users:STORAGE_USERS_PROVIDER_ID={lo}"]
        args += ["--program-env", f"ocis-storage-users-2:STORAGE_USERS_HOME_RANGE={HALVES[1]}"]
        args += ["--program-env", f"ocis-storage-users-2:STORAGE_USERS_PROVIDER_ID={hi}"]
        args += ["--program-env", f"ocis-storage-users-2:STORAGE_USERS_BASE_DATA_PATH={host.root / 'data-2'}"]
    host.supervisor(*args)


def half_users(c: Host) -> dict[str, tuple[str, str, str]]:
    """(username, password, id) of a user whose personal space lands in each half of the homes (ids are
    random: add users until both halves have one)."""
    found: dict[str, tuple[str, str, str]] = {}
    for i in range(40):
        user, password = f"user{i}", f"pw-{i}-for-tests"
        res = c.ocis("users", "add", user, "--password-stdin", input=password + "\n")
        assert res.returncode == 0, res.stdout + res.stderr
        uid = res.stdout.rsplit("(id ", 1)[1].rstrip(")\n")
        half = HALVES[0] if shard(home_space_id(uid)) <= "7f" else HALVES[1]
        found.setdefault(half, (user, password, uid))
        if len(found) == 2:
            return found
    raise AssertionError("no user landed in one half of the homes")


@contextmanager
def three_hosts() -> Iterator[ThreeHosts]:
    """The running three-host deployment; everything stopped by PID and removed at the end."""
    with deployment() as dep, Hosts() as hosts, ExitStack() as on_b:
        b_net = {"host": hosts.address("b"), "netns": hosts.namespaces["b"]}
        pg = on_b.enter_context(running_postgres(**b_net))
        s3 = on_b.enter_context(running_seaweedfs(**b_net))
        made: list[Host] = []
        try:
            for name in ("a", "b", "c"):
                root = dep.root / name
                shutil.copytree(dep.config_dir, root / "config")  # the operator copies config and keys
                env = host_env(dep, hosts, name, root, pg, s3)
                made.append(Host(name, hosts.address(name), root, env, EXTENSIONS[name], hosts))
            for host in made:
                generate(host)
            for host in made:  # A first: its broker is the bus
                host.supervisor("start")
            a, b, c = made
            dav = dav_as(f"https://{a.address}:{PROXY_PORT}", webdav_stack.ADMIN, webdav_stack.PASSWORD)
            deployed = ThreeHosts(dep, hosts, a, b, c, pg, s3, dav, {})
            with deployed.client():
                wait_until(lambda: dav.request("PROPFIND", "", b"", {"Depth": "0"}).status == 207, 60, what="WebDAV")
            for half, (user, password, uid) in half_users(c).items():
                deployed.users[half], deployed.user_ids[half] = (user, password), uid
            yield deployed
        finally:
            for host in made:
                kill_supervisor(host.sup_dir)
