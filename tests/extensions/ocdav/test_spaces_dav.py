"""`/remote.php/dav/spaces/<space-id>/…` for the caller's personal space, through the proxy.

The same files as `/remote.php/dav/files/<user>/`, answered with spaces hrefs and
`oc:spaceid`; every method of the files/ tree (PUT, GET, PROPFIND, PROPPATCH,
MKCOL, MOVE/COPY with spaces Destinations, LOCK, chunking NG, TUS, REPORT) and
litmus at 100 % against the spaces URL. Previews on spaces URLs: webdav's tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import xml.etree.ElementTree as ET
from base64 import b64encode
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from ocisd import identity
from ocisd.api.sharing.v1 import permissions
from ocisd.api.storage.v1.contract import home_space_id
from tests.clients.test_litmus import assert_litmus_passes
from tests.extensions.ocdav.test_webdav import NS, multistatus, prop
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment, deployment
from tests.support.webdav_stack import DavStack

QUOTA = 50 * 1024 * 1024
UPLOADS = "/remote.php/dav/uploads/admin"
FILES = "/remote.php/dav/files/admin"
PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
    b"<d:getetag/><oc:id/><oc:fileid/><oc:spaceid/><oc:permissions/><oc:share-types/><oc:size/>"
    b"<d:quota-used-bytes/><d:quota-available-bytes/><oc:favorite/></d:prop></d:propfind>"
)
LOCK_INFO = (
    b'<d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype>'
    b"</d:lockinfo>"
)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Deployment, DavStack]]:
    with deployment() as dep:
        files = webdav_stack.start(dep, env={"STORAGE_USERS_QUOTA": str(QUOTA)}, proxied=True)
        space = home_space_id(webdav_stack.secrets(dep)["admin_user_id"])
        yield dep, dataclasses.replace(files, base=f"/remote.php/dav/spaces/{space}")


@pytest.fixture
def dav(stack: tuple[Deployment, DavStack]) -> DavStack:
    return stack[1]


def space_id(dav: DavStack) -> str:
    return dav.base.rsplit("/", 1)[1]


def propfind(dav: DavStack, path: str, depth: str = "1") -> dict[str, ET.Element]:
    """href (decoded) -> response."""
    found = multistatus(dav.request("PROPFIND", path, PROPS, {"Depth": depth}))
    return {unquote(r.findtext("d:href", namespaces=NS) or ""): r for r in found}


def test_put_get_propfind_with_space_props(dav: DavStack) -> None:
    assert dav.request("MKCOL", "pf").status == 201
    data = b"spaces\n" * 50
    put = dav.request("PUT", "pf/a%20b.txt", data, {"X-OC-Mtime": "1700000000"})
    assert put.status == 201 and put.headers["X-OC-MTime"] == "accepted", put
    got = dav.request("GET", "pf/a%20b.txt")
    assert got.status == 200 and got.body == data and got.headers["ETag"] == put.headers["ETag"]
    assert dav.request("HEAD", "pf/a%20b.txt").headers["Content-Length"] == str(len(data))

    listing = propfind(dav, "pf/")
    assert set(listing) == {dav.base + "/pf/", dav.base + "/pf/a b.txt"}  # spaces hrefs, folders with `/`
    folder, child = listing[dav.base + "/pf/"], listing[dav.base + "/pf/a b.txt"]
    assert prop(child, "oc:spaceid") == prop(folder, "oc:spaceid") == space_id(dav)
    assert prop(child, "oc:id") == prop(child, "oc:fileid") == put.headers["OC-FileId"]
    assert prop(child, "d:getetag") == put.headers["ETag"]
    assert prop(child, "oc:permissions") == "RDNVW" and prop(folder, "oc:permissions") == "RDNVCK"
    assert prop(folder, "d:quota-used-bytes") == str(len(data))
    available = int(prop(folder, "d:quota-available-bytes") or -1)
    assert 0 < QUOTA - available <= len(data) + 4096  # this space's quota, less what it holds
    assert prop(child, "oc:share-types") == ""

    # The same file under the per-user path, which keeps its own hrefs.
    old = propfind(dav, FILES + "/pf/a%20b.txt", "0")
    assert list(old) == [FILES + "/pf/a b.txt"]
    assert prop(old[FILES + "/pf/a b.txt"], "oc:spaceid") == space_id(dav)
    # oCIS's webDavUrl form, /dav/spaces/<id>, answers with its own hrefs.
    short = propfind(dav, dav.base.removeprefix("/remote.php") + "/pf/a%20b.txt", "0")
    assert list(short) == [dav.base.removeprefix("/remote.php") + "/pf/a b.txt"]


def test_errors_as_files(dav: DavStack) -> None:
    assert dav.request("PROPFIND", "missing", b"", {"Depth": "0"}).status == 404
    assert dav.request("GET", "missing").status == 404
    assert dav.request("PUT", "nope/x.txt", b"x").status == 409
    assert dav.request("MKCOL", "nope/sub").status == 409
    assert dav.request("MKCOL", "e").status == 201 and dav.request("MKCOL", "e").status == 405
    assert dav.request("DELETE", "e").status == 204 and dav.request("DELETE", "e").status == 404
    assert dav.request("PROPFIND", "/remote.php/dav/spaces/no-such-space/", b"", {"Depth": "0"}).status == 404
    assert dav.request("PROPFIND", "/remote.php/dav/spaces/a!b/", b"", {"Depth": "0"}).status == 404
    assert dav.request("PROPFIND", "/remote.php/dav/spaces/", b"", {"Depth": "0"}).status == 404
    assert dav.request("PROPFIND", "%2e%2e/x", b"", {"Depth": "0"}).status == 400
    assert dav.request("PROPFIND", "", b"", {"Depth": "0"}, auth=False).status == 401


def test_a_public_links_token_reaches_no_space(stack: tuple[Deployment, DavStack]) -> None:
    dep, dav = stack
    root = propfind(dav, "", "0")[dav.base + "/"]
    scope = identity.Scope(resource=prop(root, "oc:id") or "", bits=permissions.ALL)
    who = identity.Identity(user_id="link", username="link", scope=scope)
    token = identity.mint(webdav_stack.secrets(dep)["jwt_secret"], who)
    direct = DavStack(f"http://{dep.addr('ocdav', 'http_addr')}", dav.base, {identity.HTTP_HEADER: token}, False)
    assert direct.request("PROPFIND", "", b"", {"Depth": "0"}).status == 404
    assert direct.request("PUT", "via-link.txt", b"x").status == 404


def test_move_copy_with_spaces_destinations(dav: DavStack) -> None:
    put = dav.request("PUT", "mv.txt", b"move me")
    full = dav.root + dav.base
    moved = dav.request("MOVE", "mv.txt", None, {"Destination": f"{full}/moved.txt"})
    assert moved.status == 201 and moved.headers["OC-FileId"] == put.headers["OC-FileId"]
    copied = dav.request("COPY", "moved.txt", None, {"Destination": f"{dav.base}/copied.txt", "Overwrite": "F"})
    assert copied.status == 201 and copied.headers["OC-FileId"] != put.headers["OC-FileId"]
    again = dav.request("COPY", "moved.txt", None, {"Destination": f"{dav.base}/copied.txt", "Overwrite": "F"})
    assert again.status == 412
    # From files/ into a spaces URL of the same space, and back.
    there = dav.request("MOVE", f"{FILES}/copied.txt", None, {"Destination": f"{dav.base}/c2.txt"})
    assert there.status == 201
    back = dav.request("MOVE", "c2.txt", None, {"Destination": f"{FILES}/c3.txt"})
    assert back.status == 201 and dav.request("GET", "c3.txt").body == b"move me"
    assert dav.request("MOVE", "c3.txt", None, {"Destination": f"{dav.base}/c3.txt"}).status == 403
    elsewhere = dav.request("MOVE", "c3.txt", None, {"Destination": "/remote.php/dav/spaces/no-such-space/x"})
    assert elsewhere.status in (403, 404, 502)  # never into a space the caller does not have
    assert dav.request("GET", "c3.txt").status == 200


def test_proppatch_and_favorites_report(dav: DavStack) -> None:
    dav.request("PUT", "fav.txt", b"*")
    body = (
        b'<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:x="urn:x">'
        b"<d:set><d:prop><oc:favorite>1</oc:favorite><x:color>red</x:color></d:prop></d:set></d:propertyupdate>"
    )
    patched = multistatus(dav.request("PROPPATCH", "fav.txt", body))
    assert unquote(patched[0].findtext("d:href", namespaces=NS) or "") == dav.base + "/fav.txt"
    report = (
        b'<?xml version="1.0"?><oc:filter-files xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
        b"<d:prop><oc:fileid/><oc:spaceid/></d:prop><oc:filter-rules><oc:favorite>1</oc:favorite></oc:filter-rules>"
        b"</oc:filter-files>"
    )
    found = multistatus(dav.request("REPORT", "", report))
    assert [unquote(r.findtext("d:href", namespaces=NS) or "") for r in found] == [dav.base + "/fav.txt"]
    assert prop(found[0], "oc:spaceid") == space_id(dav)


def test_lock_and_unlock(dav: DavStack) -> None:
    dav.request("PUT", "locked.txt", b"l")
    lock = dav.request("LOCK", "locked.txt", LOCK_INFO)
    assert lock.status == 200, lock
    token = lock.headers["Lock-Token"]
    root = ET.fromstring(lock.body).findtext(".//d:lockroot/d:href", namespaces=NS) or ""
    assert unquote(root) == dav.base + "/locked.txt"
    assert dav.request("PUT", "locked.txt", b"x").status == 423
    assert dav.request("PUT", "locked.txt", b"x", {"If": f"({token})"}).status == 204
    assert dav.request("UNLOCK", "locked.txt", None, {"Lock-Token": token}).status == 204
    assert dav.request("DELETE", "locked.txt").status == 204


def chunked(dav: DavStack, uploads: str, data: bytes, destination: str) -> webdav_stack.Reply:
    """Chunking NG as the desktop client does it: MKCOL, chunks named by offset, MOVE of `.file`."""
    folder = f"{uploads}/t-{hashlib.sha1(destination.encode()).hexdigest()[:12]}"
    assert dav.request("MKCOL", folder, None, {"OC-Total-Length": str(len(data))}).status == 201
    for offset in range(0, len(data), 200_000):
        assert dav.request("PUT", f"{folder}/{offset:016d}", data[offset : offset + 200_000]).status == 201
    headers = {
        "Destination": destination,
        "OC-Total-Length": str(len(data)),
        "OC-Checksum": f"SHA1:{hashlib.sha1(data).hexdigest()}",
    }
    return dav.request("MOVE", f"{folder}/.file", None, headers)


def tus(dav: DavStack, folder: str, name: str, data: bytes) -> tuple[webdav_stack.Reply, webdav_stack.Reply]:
    """A TUS creation at `folder` and the PATCH of all of `data`: (POST answer, PATCH answer or the POST's)."""
    meta = f"filename {b64encode(name.encode()).decode()}"
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta}
    created = dav.request("POST", folder, None, headers)
    if created.status != 201:
        return created, created
    offset = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    return created, dav.request("PATCH", urlsplit(created.headers["Location"]).path, data, offset)


def test_chunking_ng_into_a_spaces_destination(dav: DavStack) -> None:
    data = os.urandom(300_000)
    done = chunked(dav, UPLOADS, data, f"{dav.root}{dav.base}/chunked.bin")
    assert done.status == 201 and done.headers["OC-FileId"] and done.headers["ETag"], done
    assert dav.request("GET", "chunked.bin").body == data


def test_tus_at_a_spaces_folder(dav: DavStack) -> None:
    data = os.urandom(100_000)
    assert dav.request("MKCOL", "tus").status == 201
    created, done = tus(dav, "tus/", "t.bin", data)
    assert created.status == 201 and urlsplit(created.headers["Location"]).path.startswith(UPLOADS + "/"), created
    assert done.status == 204 and done.headers["OC-FileId"], done
    assert dav.request("GET", "tus/t.bin").body == data
    assert prop(propfind(dav, "tus/t.bin", "0")[dav.base + "/tus/t.bin"], "oc:spaceid") == space_id(dav)


@tools.needs("litmus")
def test_litmus_against_the_personal_space(stack: tuple[Deployment, DavStack]) -> None:
    assert_litmus_passes(*stack)
