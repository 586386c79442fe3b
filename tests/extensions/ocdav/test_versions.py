"""File versions over WebDAV as oCIS serves them (/remote.php/dav/meta/<fileid>), through the TLS proxy,
with real processes: list, download, restore, path-for-user, quota, the switch, and SIGKILL during restores."""

from __future__ import annotations

import json
import os
import signal
import threading
import xml.etree.ElementTree as ET
from base64 import b64encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.core.test_supervisor import Sup
from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until
from tests.support.identity import add_user

OC = "{http://owncloud.org/ns}"
META = "/remote.php/dav/meta"

pytestmark = pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy")


@dataclass
class Listed:
    key: str
    size: int
    etag: str
    modified: str
    edited_by: str


def prop(dav: webdav_stack.DavStack, path: str, name: str) -> str:
    reply = dav.request("PROPFIND", path, b"", {"Depth": "0"})
    assert reply.status == 207, reply
    return ET.fromstring(reply.body).findtext(f".//{name}") or ""


def file_id(dav: webdav_stack.DavStack, path: str) -> str:
    return prop(dav, path, f"{OC}fileid")


def versions(dav: webdav_stack.DavStack, fid: str) -> list[Listed]:
    listed = versions_or_none(dav, fid)
    assert listed is not None
    return listed


def versions_or_none(dav: webdav_stack.DavStack, fid: str) -> list[Listed] | None:
    """The file's versions, newest first; None when the listing is not answered (storage down)."""
    reply = dav.request("PROPFIND", f"{META}/{quote(fid)}/v", b"", {"Depth": "1"})
    if reply.status != 207:
        return None
    out = []
    for resp in ET.fromstring(reply.body).iter("{DAV:}response"):
        href = resp.findtext("{DAV:}href") or ""
        if href.endswith("/v/"):
            continue
        out.append(
            Listed(
                href.rsplit("/", 1)[1],
                int(resp.findtext(".//{DAV:}getcontentlength") or -1),
                resp.findtext(".//{DAV:}getetag") or "",
                resp.findtext(".//{DAV:}getlastmodified") or "",
                resp.findtext(f".//{OC}meta-version-edited-by") or "",
            )
        )
    return out


def version_url(fid: str, key: str) -> str:
    return f"{META}/{quote(fid)}/v/{key}"


def restore(dav: webdav_stack.DavStack, fid: str, key: str, path: str) -> webdav_stack.Reply:
    return dav.request("COPY", version_url(fid, key), None, {"Destination": f"{dav.root}{dav.base}/{path}"})


def test_ten_overwrites_list_download_and_restore_the_third(dep: Deployment) -> None:
    dep.start_runtime(webdav_stack.names(True) + ",frontend", env={"PROXY_ACCESS_LOG": "false"})
    dav = webdav_stack.connect(dep, proxied=True)
    for i in range(1, 11):
        assert dav.request("PUT", "f.txt", f"revision {i}\n".encode()).status in (201, 204)
    fid = file_id(dav, "f.txt")
    admin_id = prop(dav, "", f"{OC}owner-id")
    listed = versions(dav, fid)
    assert len(listed) == 9 and {v.size for v in listed} == {11} and {v.edited_by for v in listed} == {admin_id}
    assert all(v.etag.startswith('"') and v.modified.endswith(" GMT") for v in listed)
    got = [dav.request("GET", version_url(fid, v.key)) for v in listed]
    assert [g.body for g in got][::-1] == [f"revision {i}\n".encode() for i in range(1, 10)]
    assert got[0].headers["ETag"] == listed[0].etag

    third = listed[-3]
    before = prop(dav, "", "{DAV:}getetag")
    assert restore(dav, fid, third.key, "f.txt").status == 204
    assert dav.request("GET", "f.txt").body == b"revision 3\n"
    assert prop(dav, "", "{DAV:}getetag") != before  # the space's etag changes: sync clients look
    after = versions(dav, fid)
    assert third.key not in {v.key for v in after} and len(after) == 9
    assert dav.request("GET", version_url(fid, after[0].key)).body == b"revision 10\n"

    meta = dav.request("PROPFIND", f"{META}/{quote(fid)}", b"", {"Depth": "0"})
    assert meta.status == 207 and ET.fromstring(meta.body).findtext(f".//{OC}meta-path-for-user") == "/f.txt"
    assert dav.request("MKCOL", "dir").status == 201
    assert dav.request("MOVE", "f.txt", None, {"Destination": f"{dav.base}/dir/g.txt"}).status == 201
    assert prop(dav, f"{META}/{quote(fid)}", f"{OC}meta-path-for-user") == "/dir/g.txt"

    # Refusals: a wrong destination, an unknown key, a folder, someone else's file.
    assert dav.request("PUT", "other.txt", b"x").status == 201
    assert restore(dav, fid, after[0].key, "other.txt").status == 409
    assert dav.request("GET", version_url(fid, "nope")).status == 404
    assert dav.request("PROPFIND", f"{META}/{quote(file_id(dav, 'dir'))}/v", b"", {"Depth": "1"}).status == 409
    add_user(dep, "mallory", "mallory-password-1")
    basic = b64encode(b"mallory:mallory-password-1").decode()
    mallory = webdav_stack.DavStack(
        dav.root, "/remote.php/dav/files/mallory", {"Authorization": f"Basic {basic}"}, True
    )
    assert mallory.request("PROPFIND", f"{META}/{quote(fid)}/v", b"", {"Depth": "1"}).status == 404
    assert mallory.request("GET", version_url(fid, after[0].key)).status == 404

    def advertised() -> bool:
        caps = dav.request("GET", "/ocs/v1.php/cloud/capabilities?format=json", headers={"OCS-APIREQUEST": "true"})
        return '"versioning":true' in caps.body.decode().replace(" ", "")

    wait_until(advertised, 30, what="files.versioning advertised")


def test_every_way_of_overwriting_keeps_the_previous_revision(dep: Deployment) -> None:
    """PUT, TUS, chunking NG, legacy chunking, MOVE onto, COPY onto: each one leaves a version behind."""
    dav = webdav_stack.start(dep)
    assert dav.request("PUT", "f.bin", b"put").status == 201
    fid = file_id(dav, "f.bin")
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream", "Upload-Length": "3"}
    tus["Upload-Metadata"] = "filename " + b64encode(b"f.bin").decode()
    assert dav.request("POST", "", b"tus", tus).status == 201
    uploads = f"/remote.php/dav/uploads/{webdav_stack.ADMIN}/t1"
    assert dav.request("MKCOL", uploads).status == 201
    assert dav.request("PUT", f"{uploads}/{0:016d}", b"chunked", {"OC-Chunk-Offset": "0"}).status == 201
    done = {"Destination": f"{dav.base}/f.bin", "OC-Total-Length": "7"}
    assert dav.request("MOVE", f"{uploads}/.file", None, done).status == 204
    assert dav.request("PUT", "f.bin-chunking-42-1-0", b"legacy", {"OC-Chunked": "1"}).status in (201, 204)
    for method, body in (("MOVE", b"moved"), ("COPY", b"copied")):
        assert dav.request("PUT", "other.bin", body).status == 201
        assert dav.request(method, "other.bin", None, {"Destination": f"{dav.base}/f.bin"}).status == 204
    assert dav.request("GET", "f.bin").body == b"copied"
    listed = versions(dav, file_id(dav, "f.bin"))
    kept = [dav.request("GET", version_url(file_id(dav, "f.bin"), v.key)).body for v in listed]
    assert kept == [b"moved", b"legacy", b"chunked", b"tus", b"put"]
    assert file_id(dav, "f.bin") != fid  # COPY made a new file, which took the history over


def test_counted_versions_make_room_and_versions_can_be_switched_off(dep: Deployment) -> None:
    env = {"STORAGE_USERS_QUOTA": "100", "STORAGE_USERS_VERSIONS_COUNT_QUOTA": "true"}
    dav = webdav_stack.start(dep, env=env)
    for data in (b"a" * 40, b"b" * 40, b"c" * 40):
        assert dav.request("PUT", "f", data).status in (201, 204)
    fid = file_id(dav, "f")
    assert [v.size for v in versions(dav, fid)] == [40]  # a's version made room for c's
    assert dav.request("GET", version_url(fid, versions(dav, fid)[0].key)).body == b"b" * 40
    assert prop(dav, "", "{DAV:}quota-used-bytes") == "40"  # folder size: the files themselves
    assert dav.request("PUT", "g", b"d" * 60).status == 201  # the last version yields to a file
    assert versions(dav, fid) == []
    assert dav.request("PUT", "h", b"e").status == 507


def test_versioning_disabled_keeps_nothing_and_offers_nothing(dep: Deployment) -> None:
    env = {"OCIS_DISABLE_VERSIONING": "true", "PROXY_ACCESS_LOG": "false"}
    dep.start_runtime(webdav_stack.names(True) + ",frontend", env=env)
    dav = webdav_stack.connect(dep, proxied=True)
    for data in (b"1", b"2"):
        dav.request("PUT", "f", data)
    assert versions(dav, file_id(dav, "f")) == []

    def capabilities() -> dict[str, Any]:
        caps = dav.request("GET", "/ocs/v1.php/cloud/capabilities?format=json", headers={"OCS-APIREQUEST": "true"})
        return dict(json.loads(caps.body)["ocs"]["data"]["capabilities"]) if caps.status == 200 else {}

    wait_until(lambda: capabilities().get("dav", {}).get("chunking") == "1.0", 30, what="ocdav's routes seen")
    assert capabilities()["files"]["versioning"] is False


def test_sigkill_of_storage_users_during_restores_leaves_old_or_new_state(dep: Deployment) -> None:
    """storage-users under supervisord; restores run back to back while it is SIGKILLed, three times."""
    contents = [b"first\n" * 100, b"second\n" * 100]
    sup = Sup(dep)
    try:
        sup.generate(webdav_stack.names(True), env={"PROXY_ACCESS_LOG": "false"})
        sup.run("start")
        dav = webdav_stack.connect(dep, proxied=True)
        for data in contents:
            assert dav.request("PUT", "f.txt", data).status in (201, 204)
        fid = file_id(dav, "f.txt")
        for _ in range(3):
            _kill_during_restores(dav, fid, sup)
            wait_until(lambda: versions_or_none(dav, fid) is not None, 60, what="storage back")
            _consistent(dav, fid, contents)
    finally:
        sup.close()
    data = next(p.parent for p in dep.root.rglob("metadata.db") if p.parent.name == "storage-users")
    blobs = [p for p in (data / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert len(blobs) == 2  # the file and its one version: nothing half-restored stays behind


def _kill_during_restores(dav: webdav_stack.DavStack, fid: str, sup: Sup) -> None:
    done = threading.Event()
    answered: list[int] = []

    def restores() -> None:
        while not done.is_set():
            listed = versions_or_none(dav, fid)
            if listed:
                answered.append(restore(dav, fid, listed[0].key, "f.txt").status)

    worker = threading.Thread(target=restores)
    worker.start()
    try:
        wait_until(lambda: answered.count(204) >= 3, 60, what="restores under way")
        pid = sup.pids()["ocis-storage-users"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: sup.pids().get("ocis-storage-users") not in (None, pid), 60, what="restart")
    finally:
        done.set()
        worker.join()


def _consistent(dav: webdav_stack.DavStack, fid: str, contents: list[bytes]) -> None:
    """One of the two contents is current, the other is the one version, and both read back whole."""
    current = dav.request("GET", "f.txt")
    assert current.status == 200 and current.body in contents
    listed = versions(dav, fid)
    assert len(listed) == 1
    kept = dav.request("GET", version_url(fid, listed[0].key)).body
    assert sorted([current.body, kept]) == sorted(contents)
    assert listed[0].size == len(kept)
