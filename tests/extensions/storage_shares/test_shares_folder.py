"""The /Shares folder through the gateway and ocdav, over real processes, with a stand-in sharing service.

One runtime (bus, gateway, storage-users, ocdav, storage-shares, the front door)
behind the TLS proxy; the stand-in answers ListReceivedShares from a file. The
shared folders are the admin's own, so no storage grant is needed: what is
tested is the mount, the routing, the paths, the etags and the properties.
"""

from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import webdav_stack
from tests.support.harness import Proc, deployment, free_port, wait_until
from tests.support.proxy import spawn_module
from tests.support.webdav_stack import DavStack

PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
    b"<d:getetag/><oc:fileid/><oc:permissions/><oc:share-types/><oc:privatelink/><oc:owner-id/>"
    b"<oc:owner-display-name/></d:prop></d:propfind>"
)


class Shares:
    """The stand-in's file: the admin's received (and created) shares."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stand_in: Proc | None = None
        self.write([])

    def write(self, items: list[dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(items))
        tmp.replace(self.path)

    def read(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = json.loads(self.path.read_text())
        return items


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[DavStack, Shares]]:
    with deployment() as dep:
        shares = Shares(dep.root / "shares.json")
        record = {
            "name": "sharing",
            "instance": "stand-in",
            "pid": 0,
            "host": socket.gethostname(),
            "health": "ready",
            "started": 0,
            "addresses": {"grpc": f"127.0.0.1:{free_port()}"},
        }
        shares.stand_in = spawn_module(
            dep,
            "stand-in-sharing",
            "tests.extensions.storage_shares.stand_in_sharing",
            "--record",
            json.dumps(record),
            "--shares",
            str(shares.path),
        )
        proxied = webdav_stack.front_door_installed()
        dep.start_runtime(webdav_stack.names(proxied) + ",storage-shares", env={"PROXY_ACCESS_LOG": "false"})
        yield webdav_stack.connect(dep, proxied), shares


def responses(body: bytes) -> dict[str, dict[str, str]]:
    """href -> {property local name: inner XML} of a multistatus (200 propstats only)."""
    out: dict[str, dict[str, str]] = {}
    for resp in ET.fromstring(body).iter("{DAV:}response"):
        found: dict[str, str] = {}
        for stat in resp.iter("{DAV:}propstat"):
            if "200" in (stat.findtext("{DAV:}status") or ""):
                for prop in stat.find("{DAV:}prop") or ():
                    inner = "".join(ET.tostring(c, encoding="unicode") for c in prop)
                    found[prop.tag.split("}")[1]] = (prop.text or "") + inner
        out[resp.findtext("{DAV:}href") or ""] = found
    return out


def propfind(dav: DavStack, path: str, depth: str = "1") -> dict[str, dict[str, str]]:
    reply = dav.request("PROPFIND", path, PROPS, {"Depth": depth})
    assert reply.status == 207, (path, reply.status, reply.body)
    return responses(reply.body)


def fileid(dav: DavStack, path: str) -> str:
    return next(iter(propfind(dav, path, "0").values()))["fileid"]


@pytest.fixture(scope="module")
def mounted(stack: tuple[DavStack, Shares]) -> tuple[DavStack, Shares, str]:
    dav, shares = stack
    assert dav.request("MKCOL", "docs").status == 201
    assert dav.request("PUT", "docs/a.txt", b"alpha").status == 201
    docs = fileid(dav, "docs")
    shares.write([{"id": "s1", "resource_id": docs, "mount_point": "docs", "created": [0, 3]}])
    base = dav.base + "/"
    wait_until(lambda: base + "Shares/" in propfind(dav, ""), what="/Shares in the home root")
    return dav, shares, docs


def test_accepted_share_is_listed_under_shares_with_its_permissions(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, _, docs = mounted
    listing = propfind(dav, "Shares")
    mount = listing[dav.base + "/Shares/docs/"]
    assert mount["fileid"] == docs
    assert mount["permissions"] == "SRMDNVCK"
    inside = propfind(dav, "Shares/docs")
    assert set(inside) == {dav.base + "/Shares/docs/", dav.base + "/Shares/docs/a.txt"}
    assert inside[dav.base + "/Shares/docs/a.txt"]["permissions"] == "SRMDNVW"
    assert dav.request("GET", "Shares/docs/a.txt").body == b"alpha"


def test_writes_below_a_mount_land_in_the_owners_folder(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, _, _ = mounted
    assert dav.request("PUT", "Shares/docs/b.txt", b"beta").status == 201
    assert dav.request("GET", "docs/b.txt").body == b"beta"
    assert dav.request("MKCOL", "Shares/docs/sub").status == 201
    assert (
        dav.request("MOVE", "Shares/docs/b.txt", headers={"Destination": dav.base + "/Shares/docs/sub/b.txt"}).status
        == 201
    )
    assert dav.request("GET", "docs/sub/b.txt").body == b"beta"
    assert dav.request("DELETE", "Shares/docs/sub").status == 204
    assert dav.request("GET", "docs/sub/b.txt").status == 404


def test_nothing_but_mounts_in_shares_and_no_move_across_the_boundary(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, _, _ = mounted
    assert dav.request("MKCOL", "Shares/new").status == 403
    assert dav.request("PUT", "Shares/new.txt", b"x").status == 403
    assert dav.request("PROPFIND", "Shares/nothing", PROPS, {"Depth": "0"}).status == 404
    out = dav.request("MOVE", "Shares/docs/a.txt", headers={"Destination": dav.base + "/a.txt"})
    assert out.status == 502
    into = dav.request("COPY", "docs/a.txt", headers={"Destination": dav.base + "/Shares/docs/copy.txt"})
    assert into.status == 502


def test_an_owner_change_changes_the_shares_and_home_root_etags(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, _, _ = mounted
    root, folder = dav.base + "/", dav.base + "/Shares/"
    before = propfind(dav, "")
    assert before[folder]["getetag"] == propfind(dav, "Shares", "0")[folder]["getetag"]
    assert dav.request("PUT", "docs/a.txt", b"alpha, changed by the owner").status == 204
    after = propfind(dav, "")
    assert after[folder]["getetag"] != before[folder]["getetag"]
    assert after[root]["getetag"] != before[root]["getetag"]
    assert propfind(dav, "", "0")[root]["getetag"] == after[root]["getetag"]  # Depth 0 and 1 agree


def test_share_properties(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, _, docs = mounted
    home = propfind(dav, "")
    mine = home[dav.base + "/docs/"]
    assert re.findall(r">(\d)</[^>]*share-type>", mine["share-types"]) == ["0", "3"]
    assert mine["privatelink"].endswith("/f/" + docs)
    assert mine["owner-display-name"]
    assert "share-types" not in home[dav.base + "/"] or home[dav.base + "/"]["share-types"] == ""


def test_a_gone_resource_is_left_out_and_delete_declines(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, shares, docs = mounted
    gone = {"id": "s2", "resource_id": docs.split("!")[0] + "!00000000-0000-0000-0000-000000000000"}
    shares.write([*shares.read(), {**gone, "mount_point": "gone"}])
    assert set(propfind(dav, "Shares")) == {dav.base + "/Shares/", dav.base + "/Shares/docs/"}
    assert dav.request("DELETE", "Shares/docs").status == 204
    assert [s["state"] for s in shares.read() if s["id"] == "s1"] == [2]
    assert dav.request("GET", "docs/a.txt").status == 200  # the owner's data stays
    assert dav.request("PROPFIND", "Shares", PROPS, {"Depth": "0"}).status == 404
    wait_until(lambda: dav.base + "/Shares/" not in propfind(dav, ""), what="/Shares gone from the root")


def test_without_the_sharing_service_the_home_root_still_answers(mounted: tuple[DavStack, Shares, str]) -> None:
    dav, shares, docs = mounted
    shares.write([{"id": "s3", "resource_id": docs, "mount_point": "again"}])
    wait_until(lambda: dav.base + "/Shares/" in propfind(dav, ""), what="/Shares back in the root")
    assert shares.stand_in is not None
    shares.stand_in.stop()
    wait_until(lambda: dav.base + "/Shares/" not in propfind(dav, ""), what="a root without /Shares")
    assert dav.request("PROPFIND", "Shares/again", PROPS, {"Depth": "0"}).status == 503
    assert dav.request("GET", "docs/a.txt").status == 200
