"""Every capability the frontend advertises exists: each one that promises an endpoint is exercised here.

The capabilities come from a full stack behind the proxy, as a desktop client
asks for them. A new capability fails `test_every_advertised_capability_is_exercised`
until it is listed below, either with the request that proves it or as a
description that promises no endpoint.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import xml.etree.ElementTree as ET
import zlib
from base64 import b64encode
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import webdav_stack
from tests.support.harness import deployment, wait_until
from tests.support.webdav_stack import DavStack

CAPABILITIES = "/ocs/v2.php/cloud/capabilities?format=json"
UPLOADS = f"/remote.php/dav/uploads/{webdav_stack.ADMIN}"
OC = "http://owncloud.org/ns"
DATA = b"what the capabilities promise\n" * 1000
# Values that describe the server and promise no endpoint of their own.
DESCRIPTIVE = {
    "core.pollinterval",
    "checksums.preferredUploadType",
    "files.tus_support.max_chunk_size",
    "files.tus_support.resumable",
}
# Exercised by the REPORT work's own tests (tests/extensions/ocdav), which lands beside this change.
ELSEWHERE = {"dav.reports"}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[DavStack, dict[str, Any]]]:
    with deployment() as dep:
        env = {"FRONTEND_TUS_SUPPORT": "true", "PROXY_ACCESS_LOG": "false"}
        dep.start_runtime(webdav_stack.names(True) + ",frontend", env=env)
        dav = webdav_stack.connect(dep, True)

        def capabilities() -> dict[str, Any]:
            reply = dav.request("GET", CAPABILITIES)
            return dict(json.loads(reply.body)["ocs"]["data"]["capabilities"]) if reply.status == 200 else {}

        # The frontend learns what is live from heartbeats: wait until the uploads route and the bin count.
        wait_until(lambda: capabilities().get("dav", {}).get("chunking") == "1.0", what="chunking advertised")
        wait_until(lambda: capabilities().get("dav", {}).get("trashbin") == "1.0", 30, what="trash bin advertised")
        yield dav, capabilities()


def advertised(caps: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of every leaf that promises something: true, a non-empty string, number or list."""
    found = set()
    for key, value in caps.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found |= advertised(value, path + ".")
        elif value not in (False, None, "", [], 0):
            found.add(path)
    return found


def webdav_root(dav: DavStack, caps: dict[str, Any]) -> None:
    reply = dav.request("PROPFIND", f"/{caps['core']['webdav-root']}/", b"", {"Depth": "0"})
    assert reply.status == 207, reply


def status(dav: DavStack, caps: dict[str, Any]) -> None:
    reply = dav.request("GET", "/status.php", auth=False)
    assert reply.status == 200 and json.loads(reply.body) == caps["core"]["status"]


def checksum_of(kind: str, data: bytes) -> str:
    if kind == "ADLER32":
        return f"{zlib.adler32(data):08x}"
    return hashlib.new(kind.lower(), data).hexdigest()


def checksums(dav: DavStack, caps: dict[str, Any]) -> None:
    for kind in caps["checksums"]["supportedTypes"]:
        header = {"OC-Checksum": f"{kind}:{checksum_of(kind, DATA)}"}
        assert dav.request("PUT", f"sum-{kind}.txt", DATA, header).status == 201, kind
        wrong = {"OC-Checksum": f"{kind}:{checksum_of(kind, b'something else')}"}
        assert dav.request("PUT", f"wrong-{kind}.txt", DATA, wrong).status == 400, kind
        assert dav.request("GET", f"wrong-{kind}.txt").status == 404
    ask = f'<d:propfind xmlns:d="DAV:" xmlns:oc="{OC}"><d:prop><oc:checksums/></d:prop></d:propfind>'
    reply = dav.request("PROPFIND", "sum-SHA1.txt", ask.encode(), {"Depth": "0"})
    stored = " ".join(t.text or "" for t in ET.fromstring(reply.body).iter(f"{{{OC}}}checksum"))
    for kind in caps["checksums"]["supportedTypes"]:
        assert f"{kind}:{checksum_of(kind, DATA)}" in stored, stored


def chunking(dav: DavStack, caps: dict[str, Any]) -> None:
    transfer = uuid.uuid4().hex
    assert dav.request("MKCOL", f"{UPLOADS}/{transfer}").status == 201
    half = len(DATA) // 2
    for offset, body in ((0, DATA[:half]), (half, DATA[half:])):
        reply = dav.request("PUT", f"{UPLOADS}/{transfer}/{offset:016d}", body, {"OC-Chunk-Offset": str(offset)})
        assert reply.status == 201, reply
    move = {"Destination": f"{dav.base}/{transfer}.bin", "OC-Total-Length": str(len(DATA))}
    move["OC-Checksum"] = f"SHA1:{hashlib.sha1(DATA).hexdigest()}"
    assert dav.request("MOVE", f"{UPLOADS}/{transfer}/.file", None, move).status == 201
    assert dav.request("GET", f"{transfer}.bin").body == DATA


def favorites(dav: DavStack, caps: dict[str, Any]) -> None:
    assert dav.request("PUT", "liked.txt", b"liked").status == 201
    set_it = f'<d:propertyupdate xmlns:d="DAV:" xmlns:oc="{OC}"><d:set><d:prop><oc:favorite>1</oc:favorite>'
    set_it += "</d:prop></d:set></d:propertyupdate>"
    assert dav.request("PROPPATCH", "liked.txt", set_it.encode()).status == 207
    ask = f'<d:propfind xmlns:d="DAV:" xmlns:oc="{OC}"><d:prop><oc:favorite/></d:prop></d:propfind>'
    reply = dav.request("PROPFIND", "liked.txt", ask.encode(), {"Depth": "0"})
    assert ET.fromstring(reply.body).findtext(f".//{{{OC}}}favorite") == "1"


def tus(dav: DavStack, caps: dict[str, Any]) -> None:
    promised = caps["files"]["tus_support"]
    options = dav.request("OPTIONS", "")
    assert options.headers["Tus-Version"] == promised["version"]
    assert options.headers["Tus-Extension"] == promised["extension"]
    meta = f"filename {b64encode(b'tus.bin').decode()}"
    offset = {"Tus-Resumable": promised["resumable"], "Content-Type": "application/offset+octet-stream"}
    # creation, then PATCH
    created = dav.request("POST", "", None, {**offset, "Upload-Length": str(len(DATA)), "Upload-Metadata": meta})
    where = urlsplit(created.headers["Location"]).path
    assert dav.request("PATCH", where, DATA, {**offset, "Upload-Offset": "0"}).status == 204
    assert dav.request("GET", "tus.bin").body == DATA
    # creation-with-upload
    meta = f"filename {b64encode(b'tus-2.bin').decode()}"
    created = dav.request("POST", "", DATA, {**offset, "Upload-Length": str(len(DATA)), "Upload-Metadata": meta})
    assert created.status == 201 and dav.request("GET", "tus-2.bin").body == DATA
    # termination
    meta = f"filename {b64encode(b'tus-3.bin').decode()}"
    created = dav.request("POST", "", None, {**offset, "Upload-Length": str(len(DATA)), "Upload-Metadata": meta})
    where = urlsplit(created.headers["Location"]).path
    assert dav.request("DELETE", where, None, {"Tus-Resumable": promised["resumable"]}).status == 204
    assert dav.request("HEAD", where, None, {"Tus-Resumable": promised["resumable"]}).status == 404


def trashbin(dav: DavStack, caps: dict[str, Any]) -> None:
    assert dav.request("PUT", "undelete-me.txt", DATA).status in (201, 204)  # exercised once per capability
    assert dav.request("DELETE", "undelete-me.txt").status == 204
    trash = f"/remote.php/dav/trash-bin/{webdav_stack.ADMIN}"
    listing = ET.fromstring(dav.request("PROPFIND", f"{trash}/", b"", {"Depth": "1"}).body)
    (href,) = [r.findtext("{DAV:}href") for r in listing if r.findtext(f".//{{{OC}}}trashbin-original-filename")]
    assert dav.request("MOVE", href or "", None, {"Destination": f"{dav.base}/undelete-me.txt"}).status == 201
    assert dav.request("GET", "undelete-me.txt").body == DATA


def versioning(dav: DavStack, caps: dict[str, Any]) -> None:
    for data in (b"old", b"new"):
        dav.request("PUT", "versioned.txt", data)
    ask = f'<d:propfind xmlns:d="DAV:" xmlns:oc="{OC}"><d:prop><oc:fileid/></d:prop></d:propfind>'
    reply = dav.request("PROPFIND", "versioned.txt", ask.encode(), {"Depth": "0"})
    fid = ET.fromstring(reply.body).findtext(f".//{{{OC}}}fileid") or ""
    listing = dav.request("PROPFIND", f"/remote.php/dav/meta/{fid}/v", b"", {"Depth": "1"})
    hrefs = [h.text or "" for h in ET.fromstring(listing.body).iter("{DAV:}href")]
    assert len(hrefs) == 2 and dav.request("GET", hrefs[1]).body == b"old"


Exercise = Callable[[DavStack, dict[str, Any]], None]
EXERCISES: dict[str, Exercise] = {
    "core.webdav-root": webdav_root,
    "core.status": status,
    "checksums.supportedTypes": checksums,
    "dav.chunking": chunking,
    "files.bigfilechunking": chunking,
    "files.favorites": favorites,
    "files.tus_support": tus,
    "files.undelete": trashbin,
    "dav.trashbin": trashbin,
    "files.versioning": versioning,
}


def covered(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in {*EXERCISES, *DESCRIPTIVE, *ELSEWHERE})


def test_every_advertised_capability_is_exercised(stack: tuple[DavStack, dict[str, Any]]) -> None:
    _, caps = stack
    assert sorted(p for p in advertised(caps) if not covered(p)) == []


@pytest.mark.parametrize("path", sorted(EXERCISES))
def test_advertised_capability_answers(stack: tuple[DavStack, dict[str, Any]], path: str) -> None:
    dav, caps = stack
    assert path in {p.rsplit(".", 1)[0] for p in advertised(caps)} | advertised(caps), f"{path} is not advertised"
    EXERCISES[path](dav, caps)
