"""One deployment across three hosts (network namespaces), set up as an operator would (tests/support/multihost.py).

Every process finds the others through the bus on A; each announces an address
the other hosts reach; clients on the network use A's proxy at A's address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ocisd.storage.service.config import instance_key
from tests.clients.test_litmus import run_litmus
from tests.clients.test_owncloudcmd import Client, two_way_sync
from tests.support import tools
from tests.support.multihost import HALVES, ThreeHosts, three_hosts

pytestmark = tools.needs("ip", "unshare", "litmus", "owncloudcmd")
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"


@pytest.fixture(scope="module")
def deployed() -> Iterator[ThreeHosts]:
    with three_hosts() as d:
        yield d


def test_registry_lists_instances_on_three_hosts(deployed: ThreeHosts) -> None:
    rows = deployed.registry()
    where = {(r["name"], r["host"], r["address"]) for r in rows}
    for host in (deployed.a, deployed.b, deployed.c):
        named = deployed.hosts.hostname(host.name)
        assert {(n, named, host.address) for n in host.extensions} <= where, rows
    halves = [r for r in rows if r["name"] == "storage-users"]
    assert len(halves) == 2 and {r["host"] for r in halves} == {deployed.hosts.hostname("b")}


def test_every_address_is_one_its_peers_reach(deployed: ThreeHosts) -> None:
    """A wildcard listener announces the host's address (A: from its default route, B: OCIS_ADVERTISE_HOST);
    C's users service binds C's address and announces that."""
    for row in deployed.registry():
        host = deployed.host(str(row["host"]).split("-")[1])
        announced = dict(row["addresses"])
        data = announced.pop("data", None)
        assert all(a.split("://")[-1].rpartition(":")[0] == host.address for a in announced.values()), row
        assert data in (None, f"http://{announced.get('http')}"), row  # storage's data URLs


def test_top_shows_three_hosts(deployed: ThreeHosts) -> None:
    res = deployed.c.ocis("top", "--once", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {(r["host"], r["address"]) for r in rows} == {
        (deployed.hosts.hostname(h.name), h.address) for h in (deployed.a, deployed.b, deployed.c)
    }
    # Measured where it runs (C sees its own processes), from heartbeats elsewhere.
    assert {r["source"] for r in rows if r["host"] == deployed.hosts.hostname("c")} == {"local"}
    assert {r["source"] for r in rows if r["host"] != deployed.hosts.hostname("c")} == {"heartbeat"}


def test_users_on_both_halves_write_and_read(deployed: ThreeHosts) -> None:
    with deployed.client():
        for half in HALVES:
            dav = deployed.as_user(half)
            body = f"kept by the {half} instance\n".encode()
            assert dav.request("PUT", "half.txt", body).status == 201
            assert dav.request("GET", "half.txt").body == body
            assert dav.request("MKCOL", "folder").status == 201
            assert dav.request("PROPFIND", "", b"", {"Depth": "1"}).status == 207
    # Each instance keeps its half in its own schema of the one database on B, its bytes under its own prefix
    # of the one bucket on B.
    db = deployed.b.env["STORAGE_USERS_POSTGRES_DSN"].rpartition("/")[2]
    for half, other in (HALVES, HALVES[::-1]):
        key = instance_key("storage-users", half)
        spaces = deployed.postgres.psql(db, f"SELECT id FROM {key}.spaces").stdout.split()
        assert deployed.user_ids[half] in spaces and deployed.user_ids[other] not in spaces
        assert deployed.blob_keys(key + "/")


def test_litmus_through_the_proxy_on_a(deployed: ThreeHosts) -> None:
    with deployed.client():
        results = run_litmus(deployed.dav.url, deployed.dav.user, deployed.dav.password, str(deployed.dep.root))
    assert {suite: ran - passed for suite, (ran, passed) in results.items() if ran != passed} == {}


def test_owncloudcmd_syncs_through_the_proxy_on_a(deployed: ThreeHosts, tmp_path: Path) -> None:
    with deployed.client():
        two_way_sync(Client(deployed.on(deployed.c), deployed.dav, deployed.access_log), tmp_path)


def test_a_share_crosses_the_hosts(deployed: ThreeHosts) -> None:
    """A user on one storage instance shares with a user on the other: OCS on A, sharing on C (its rows in
    B's PostgreSQL), the shared file read through storage-shares on A from B's other instance."""
    (owner, _), (recipient, _) = (deployed.users[h] for h in HALVES)
    sharer, receiver = deployed.as_user(HALVES[0]), deployed.as_user(HALVES[1])
    with deployed.client():
        assert sharer.request("PUT", "for-the-other-half.txt", b"across three hosts").status == 201
        form = {"path": "/for-the-other-half.txt", "shareType": "0", "shareWith": recipient, "permissions": "1"}
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        created = sharer.request("POST", f"{SHARES}?format=json", urlencode(form).encode(), form_type)
        assert created.status == 200, created.body
        share_id = json.loads(created.body)["ocs"]["data"]["id"]
        accepted = receiver.request("POST", f"{SHARES}/pending/{share_id}?format=json")
        assert accepted.status == 200, accepted.body
        assert receiver.request("GET", "Shares/for-the-other-half.txt").body == b"across three hosts"
    db = deployed.c.env["OCIS_POSTGRES_DSN"].rpartition("/")[2]
    assert deployed.postgres.psql(db, "SELECT count(*) FROM sharing.shares").stdout.strip() == "1"
    assert owner in deployed.postgres.psql(db, "SELECT username FROM users.users").stdout.split()
