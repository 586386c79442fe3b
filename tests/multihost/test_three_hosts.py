"""One deployment across three hosts (network namespaces), set up as an operator would (tests/support/multihost.py).

Every process finds the others through the bus on A; each announces an address
the other hosts reach; clients on the network use A's proxy at A's address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.test_litmus import run_litmus
from tests.clients.test_owncloudcmd import Client, two_way_sync
from tests.support import tools
from tests.support.multihost import HALVES, ThreeHosts, three_hosts

pytestmark = tools.needs("ip", "unshare", "litmus", "owncloudcmd")


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


def test_litmus_through_the_proxy_on_a(deployed: ThreeHosts) -> None:
    with deployed.client():
        results = run_litmus(deployed.dav.url, deployed.dav.user, deployed.dav.password, str(deployed.dep.root))
    assert {suite: ran - passed for suite, (ran, passed) in results.items() if ran != passed} == {}


def test_owncloudcmd_syncs_through_the_proxy_on_a(deployed: ThreeHosts, tmp_path: Path) -> None:
    with deployed.client():
        two_way_sync(Client(deployed.on(deployed.c), deployed.dav, deployed.access_log), tmp_path)
