"""The trash bin as oCIS serves it, through the TLS proxy: a DELETE keeps what it removes until the user says so.

PROPFIND /remote.php/dav/trash-bin/<user>/ lists items with the four
oc:trashbin-* properties; MOVE restores (409 without the parent, 412 on a name
clash), DELETE purges one item, DELETE of the bin empties it; items count
against the quota; `ocis storage-users trash-bin purge-expired` purges by the
retention; capabilities advertise it only while it is on.
"""

from __future__ import annotations

import json
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support import webdav_stack
from tests.support.harness import Deployment, deployment, wait_until
from tests.support.webdav_stack import DavStack, Reply

NS = {"d": "DAV:", "oc": "http://owncloud.org/ns"}
OC = "{http://owncloud.org/ns}"
QUOTA = 2_000_000
TRASH = f"/remote.php/dav/trash-bin/{webdav_stack.ADMIN}"
CAPABILITIES = "/ocs/v2.php/cloud/capabilities?format=json"
DAY = 86400


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Deployment, DavStack]]:
    with deployment() as dep:
        env = {"STORAGE_USERS_QUOTA": str(QUOTA), "PROXY_ACCESS_LOG": "false"}
        dep.start_runtime(webdav_stack.names(True) + ",frontend", env=env)
        yield dep, webdav_stack.connect(dep, True)


@pytest.fixture
def dav(stack: tuple[Deployment, DavStack]) -> Iterator[DavStack]:
    dav = stack[1]
    yield dav
    assert dav.request("DELETE", TRASH + "/").status == 204  # each test starts with an empty bin


def items(dav: DavStack) -> dict[str, dict[str, str]]:
    """Key -> {property local name: text} of every item in the bin."""
    reply = dav.request("PROPFIND", TRASH + "/", b"", {"Depth": "1"})
    assert reply.status == 207, reply.body
    found = {}
    for resp in ET.fromstring(reply.body).findall("d:response", NS)[1:]:
        href = resp.findtext("d:href", namespaces=NS) or ""
        props = resp.find("d:propstat/d:prop", NS)
        assert props is not None
        found[href.rstrip("/").rsplit("/", 1)[1]] = {p.tag.split("}")[1]: "".join(p.itertext()) for p in props}
    return found


def key_of(dav: DavStack, location: str) -> str:
    (key,) = [k for k, p in items(dav).items() if p["trashbin-original-location"] == location]
    return key


def restore(dav: DavStack, key: str, to: str) -> Reply:
    return dav.request("MOVE", f"{TRASH}/{key}", None, {"Destination": f"{dav.root}{dav.base}/{to}"})


def listing(dav: DavStack, path: str = "") -> list[str]:
    reply = dav.request("PROPFIND", path, b"", {"Depth": "1"})
    assert reply.status == 207, reply.body
    hrefs = [h.text or "" for h in ET.fromstring(reply.body).iter("{DAV:}href")]
    return sorted(h.removeprefix(f"{dav.base}/") for h in hrefs[1:])


def used(dav: DavStack) -> int:
    """Bytes the quota counts (the live tree's size is the root's quota-used-bytes; the bin is in neither)."""
    ask = b'<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/></d:prop></d:propfind>'
    reply = dav.request("PROPFIND", "", ask, {"Depth": "0"})
    return QUOTA - int(ET.fromstring(reply.body).findtext(".//{DAV:}quota-available-bytes") or -1)


def capabilities(dav: DavStack) -> dict[str, Any]:
    reply = dav.request("GET", CAPABILITIES)
    return dict(json.loads(reply.body)["ocs"]["data"]["capabilities"]) if reply.status == 200 else {}


def test_delete_keeps_the_file_in_the_bin_with_the_oc_properties(dav: DavStack) -> None:
    assert dav.request("MKCOL", "docs").status == 201
    assert dav.request("PUT", "docs/report.txt", b"quarterly numbers").status == 201
    fileid = dav.request("PUT", "docs/report.txt", b"quarterly figures").headers["OC-FileId"]
    root_etag = dav.request("PROPFIND", "", b"", {"Depth": "0"}).body
    before = time.time()
    assert dav.request("DELETE", "docs/report.txt").status == 204
    assert dav.request("PROPFIND", "", b"", {"Depth": "0"}).body != root_etag  # etags change up to the root

    # Gone from the live tree: listing, GET, search.
    assert listing(dav, "docs") == []
    assert dav.request("GET", "docs/report.txt").status == 404
    search = b'<oc:search-files xmlns:oc="http://owncloud.org/ns"><oc:search><oc:pattern>report</oc:pattern>'
    search += b"</oc:search></oc:search-files>"
    assert b"report.txt" not in dav.request("REPORT", "", search).body

    (key,) = items(dav)
    props = items(dav)[key]
    assert props["trashbin-original-filename"] == "report.txt"
    assert props["trashbin-original-location"] == "docs/report.txt"
    assert before - 1 <= int(props["trashbin-delete-timestamp"]) <= time.time() + 1
    assert props["trashbin-delete-datetime"].endswith(" GMT")
    assert props["getcontentlength"] == str(len(b"quarterly figures"))
    assert props["fileid"] == fileid

    # Asked for by name (as the web UI does), unknown ones are 404 in their own propstat.
    ask = b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
    ask += b"<oc:trashbin-original-filename/><oc:unknown-prop/></d:prop></d:propfind>"
    reply = dav.request("PROPFIND", f"{TRASH}/{key}", ask, {"Depth": "0"})
    assert reply.status == 207
    stats = ET.fromstring(reply.body).findall(".//d:propstat", NS)
    assert [s.findtext("d:status", namespaces=NS) for s in stats] == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]

    reply = restore(dav, key, "docs/report.txt")
    assert reply.status == 201 and reply.headers["OC-FileId"] == fileid
    assert dav.request("GET", "docs/report.txt").body == b"quarterly figures"
    assert items(dav) == {}


def test_a_folder_tree_comes_back_whole_with_its_ids(dav: DavStack) -> None:
    for folder in ("tree", "tree/a", "tree/a/b", "tree/empty"):
        assert dav.request("MKCOL", folder).status == 201
    files = {"tree/top.txt": b"top", "tree/a/mid.txt": b"mid" * 100, "tree/a/b/deep.bin": bytes(range(256))}
    ids = {path: dav.request("PUT", path, body).headers["OC-FileId"] for path, body in files.items()}
    assert dav.request("DELETE", "tree").status == 204
    assert "tree/" not in listing(dav)
    key = key_of(dav, "tree")
    assert items(dav)[key]["resourcetype"] == "" and items(dav)[key]["size"] == str(sum(map(len, files.values())))

    assert restore(dav, key, "tree").status == 201
    assert listing(dav, "tree") == ["tree/a/", "tree/empty/", "tree/top.txt"]
    for path, body in files.items():
        got = dav.request("GET", path)
        assert (got.body, got.headers["OC-FileId"]) == (body, ids[path])


def test_restore_needs_the_parent_and_never_overwrites(dav: DavStack) -> None:
    assert dav.request("MKCOL", "gone").status == 201
    assert dav.request("PUT", "gone/child.txt", b"child").status == 201
    assert dav.request("DELETE", "gone/child.txt").status == 204
    assert dav.request("DELETE", "gone").status == 204
    child = key_of(dav, "gone/child.txt")
    assert restore(dav, child, "gone/child.txt").status == 409  # the parent is gone
    assert restore(dav, child, "rescued.txt").status == 201  # another place is fine
    assert dav.request("GET", "rescued.txt").body == b"child"

    assert dav.request("PUT", "clash.txt", b"old").status == 201
    assert dav.request("DELETE", "clash.txt").status == 204
    assert dav.request("PUT", "clash.txt", b"new").status == 201
    clash = key_of(dav, "clash.txt")
    overwrite = {"Destination": f"{dav.root}{dav.base}/clash.txt", "Overwrite": "T"}
    assert dav.request("MOVE", f"{TRASH}/{clash}", None, overwrite).status == 412
    assert dav.request("GET", "clash.txt").body == b"new"
    assert clash in items(dav)
    assert restore(dav, "no-such-item", "x.txt").status == 404
    other_user = {"Destination": f"{dav.root}/remote.php/dav/files/someone-else/x.txt"}
    assert dav.request("MOVE", f"{TRASH}/{clash}", None, other_user).status == 403


def test_delete_purges_one_item_and_the_bin_root_empties_it(dav: DavStack) -> None:
    for name in ("one.txt", "two.txt", "three.txt"):
        assert dav.request("PUT", name, name.encode()).status == 201
        assert dav.request("DELETE", name).status == 204
    assert len(items(dav)) == 3
    assert dav.request("DELETE", f"{TRASH}/{key_of(dav, 'two.txt')}").status == 204
    assert sorted(p["trashbin-original-filename"] for p in items(dav).values()) == ["one.txt", "three.txt"]
    assert dav.request("DELETE", f"{TRASH}/no-such-item").status == 404
    assert dav.request("DELETE", TRASH + "/").status == 204
    assert items(dav) == {}
    assert dav.request("PROPFIND", f"{TRASH}/gone", b"", {"Depth": "0"}).status == 404
    assert dav.request("PROPFIND", "/remote.php/dav/trash-bin/someone-else/", b"", {"Depth": "1"}).status == 404


def test_items_count_against_the_quota_until_purged(dav: DavStack) -> None:
    start = used(dav)
    big = b"q" * (QUOTA // 2)
    assert dav.request("PUT", "big.bin", big).status == 201
    assert used(dav) == start + len(big)
    assert dav.request("DELETE", "big.bin").status == 204
    assert used(dav) == start + len(big)  # still counted: it is in the bin
    assert dav.request("PUT", "again.bin", big).status == 507
    assert dav.request("DELETE", f"{TRASH}/{key_of(dav, 'big.bin')}").status == 204
    assert used(dav) == start
    assert dav.request("PUT", "again.bin", big).status == 201
    assert dav.request("DELETE", "again.bin").status == 204


def test_deleting_while_a_restore_runs_ends_consistent(dav: DavStack) -> None:
    """Restore an item into a folder while that folder is deleted: whichever wins, each file is in
    exactly one place (live tree or bin) and the quota counts every byte once."""
    for round_ in range(4):
        folder = f"race{round_}"
        assert dav.request("MKCOL", folder).status == 201
        assert dav.request("PUT", f"{folder}/item.txt", b"racing").status == 201
        assert dav.request("DELETE", f"{folder}/item.txt").status == 204
        key = key_of(dav, f"{folder}/item.txt")
        before = used(dav)
        with ThreadPoolExecutor(2) as pool:
            restored = pool.submit(restore, dav, key, f"{folder}/item.txt")
            deleted = pool.submit(dav.request, "DELETE", folder)
            assert deleted.result().status == 204
            status = restored.result().status
        assert status in (201, 409)
        assert dav.request("GET", f"{folder}/item.txt").status == 404  # the folder is gone either way
        bin_ = items(dav)
        folder_key = key_of(dav, folder)
        if status == 201:  # restored first: the file went into the bin inside its folder
            assert key not in bin_
            assert restore(dav, folder_key, folder).status == 201
            assert dav.request("GET", f"{folder}/item.txt").body == b"racing"
        else:  # deleted first: the file stays an item of its own
            assert key in bin_
        assert used(dav) == before


def test_purge_expired_purges_by_the_retention(stack: tuple[Deployment, DavStack], dav: DavStack) -> None:
    dep = stack[0]
    for name in ("old.txt", "recent.txt"):
        assert dav.request("PUT", name, name.encode()).status == 201
        assert dav.request("DELETE", name).status == 204
    # The fake clock: move old.txt's deletion 31 days into the past (SQLite WAL: a second writer waits its turn).
    db = sqlite3.connect(dep.data_dir / "storage-users" / "metadata.db", timeout=30)
    with db:
        db.execute("UPDATE trash SET deleted=deleted-? WHERE id=?", (31 * DAY, key_of(dav, "old.txt")))
    db.close()
    res = dep.ocis("storage-users", "trash-bin", "purge-expired")
    assert res.returncode == 0, res.stderr
    assert "1 expired trash items purged" in res.stdout
    assert [p["trashbin-original-filename"] for p in items(dav).values()] == ["recent.txt"]


def test_capabilities_advertise_the_trash_bin(dav: DavStack) -> None:
    wait_until(lambda: capabilities(dav).get("files", {}).get("undelete") is True, what="undelete advertised")
    assert capabilities(dav)["dav"]["trashbin"] == "1.0"


def test_with_the_trash_bin_off_a_delete_is_final_and_not_advertised(dep: Deployment) -> None:
    env = {"STORAGE_USERS_TRASH_BIN": "false", "PROXY_ACCESS_LOG": "false"}
    dep.start_runtime(webdav_stack.names(True) + ",frontend", env=env)
    dav = webdav_stack.connect(dep, True)
    wait_until(lambda: capabilities(dav).get("dav", {}).get("chunking") == "1.0", what="capabilities")
    caps = capabilities(dav)
    assert caps["files"]["undelete"] is False and "trashbin" not in caps["dav"]
    assert dav.request("PUT", "final.txt", b"bytes").status == 201
    blobs = dep.data_dir / "storage-users" / "blobs"
    count = len([p for p in blobs.rglob("*") if p.is_file()])
    assert dav.request("DELETE", "final.txt").status == 204
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == count - 1
    assert dav.request("PROPFIND", TRASH + "/", b"", {"Depth": "1"}).status == 207
    assert items(dav) == {}
