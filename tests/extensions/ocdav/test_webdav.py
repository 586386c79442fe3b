"""A scripted WebDAV session against the real stack: every method, the client-facing headers, bad input."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote

import pytest

from tests.support import webdav_stack
from tests.support.harness import deployment
from tests.support.webdav_stack import DavStack

NS = {"d": "DAV:", "oc": "http://owncloud.org/ns"}
QUOTA = 5_000_000
PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
    b"<d:getetag/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><oc:id/><oc:fileid/>"
    b"<oc:permissions/><oc:checksums/><oc:size/><oc:downloadURL/></d:prop></d:propfind>"
)


@pytest.fixture(scope="module")
def dav() -> Iterator[DavStack]:
    with deployment() as dep:
        yield webdav_stack.start(dep, env={"STORAGE_USERS_QUOTA": str(QUOTA)})


def multistatus(reply: webdav_stack.Reply) -> list[ET.Element]:
    assert reply.status == 207, reply.body
    assert reply.headers["Content-Type"] == "application/xml; charset=utf-8"
    return ET.fromstring(reply.body).findall("d:response", NS)


def prop(resp: ET.Element, name: str) -> str | None:
    for stat in resp.findall("d:propstat", NS):
        if stat.findtext("d:status", namespaces=NS) == "HTTP/1.1 200 OK":
            found = stat.find(f"d:prop/{name}", NS)
            if found is not None:
                return "".join(found.itertext())
    return None


def propfind(dav: DavStack, path: str, depth: str = "1", body: bytes = PROPS) -> list[ET.Element]:
    return multistatus(dav.request("PROPFIND", path, body, {"Depth": depth}))


def test_options_and_auth(dav: DavStack) -> None:
    r = dav.request("OPTIONS", "")
    assert r.status == 200 and r.headers["DAV"] == "1, 2"
    for method in ("PROPFIND", "PROPPATCH", "MKCOL", "LOCK", "UNLOCK", "COPY", "MOVE"):
        assert method in r.headers["Allow"]
    unauth = dav.request("PROPFIND", "", auth=False, headers={"Depth": "0"})
    assert unauth.status == 401
    if dav.proxied:
        assert unauth.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_put_get_head_and_client_headers(dav: DavStack) -> None:
    assert dav.request("MKCOL", "docs").status == 201
    data = b"hello webdav\n" * 100
    sha1 = hashlib.sha1(data).hexdigest()
    put = dav.request("PUT", "docs/a.txt", data, {"X-OC-Mtime": "1700000000", "OC-Checksum": f"SHA1:{sha1}"})
    assert put.status == 201, put.body
    assert put.headers["X-OC-MTime"] == "accepted"
    etag = put.headers["ETag"]
    assert etag.startswith('"') and put.headers["OC-ETag"] == etag and put.headers["OC-FileId"]

    first, child = propfind(dav, "docs/")
    assert unquote(first.findtext("d:href", namespaces=NS) or "") == dav.base + "/docs/"
    assert first.find("d:propstat/d:prop/d:resourcetype/d:collection", NS) is not None
    assert child.findtext("d:href", namespaces=NS) == dav.base + "/docs/a.txt"
    assert prop(child, "d:getetag") == etag
    assert prop(child, "d:getlastmodified") == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert prop(child, "d:getcontentlength") == str(len(data))
    assert prop(child, "oc:permissions") == "RDNVW" and prop(first, "oc:permissions") == "RDNVCK"
    assert prop(child, "oc:id") == put.headers["OC-FileId"] == prop(child, "oc:fileid")
    sums = prop(child, "oc:checksums") or ""
    assert f"SHA1:{sha1}" in sums and f"MD5:{hashlib.md5(data).hexdigest()}" in sums and "ADLER32:" in sums
    assert prop(first, "oc:size") == str(len(data))
    stats = child.findall("d:propstat", NS)  # the 200 propstat comes before the 404 one
    assert [s.findtext("d:status", namespaces=NS) for s in stats] == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]
    assert stats[1].find("d:prop/oc:downloadURL", NS) is not None

    get = dav.request("GET", "docs/a.txt")
    assert (get.status, get.body, get.headers["ETag"]) == (200, data, etag)
    assert get.headers["Content-Length"] == str(len(data)) and get.headers["OC-ETag"] == etag
    head = dav.request("HEAD", "docs/a.txt")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", str(len(data)))
    part = dav.request("GET", "docs/a.txt", headers={"Range": "bytes=6-11"})
    assert (part.status, part.body) == (206, b"webdav")
    assert dav.request("GET", "docs/a.txt", headers={"Range": "bytes=-7"}).body == b"webdav\n"
    assert dav.request("GET", "docs/a.txt", headers={"Range": "bytes=99999-"}).status == 416
    stale = dav.request("GET", "docs/a.txt", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert (stale.status, stale.body) == (200, data)
    assert dav.request("GET", "docs/a.txt", headers={"If-Match": '"old"'}).status == 412
    assert dav.request("GET", "docs/a.txt", headers={"If-None-Match": etag}).status == 304
    since = get.headers["Last-Modified"]
    assert dav.request("GET", "docs/a.txt", headers={"If-Modified-Since": since}).status == 304
    assert dav.request("GET", "docs/missing.txt").status == 404


def test_put_conditions_and_checksums(dav: DavStack) -> None:
    first = dav.request("PUT", "c.txt", b"one")
    assert first.status == 201
    assert dav.request("PUT", "c.txt", b"two", {"If-Match": '"not-the-etag"'}).status == 412
    assert dav.request("PUT", "c.txt", b"two", {"If-None-Match": "*"}).status == 412
    again = dav.request("PUT", "c.txt", b"two", {"If-Match": first.headers["ETag"]})
    assert again.status == 204 and again.headers["ETag"] != first.headers["ETag"]
    bad = dav.request("PUT", "c.txt", b"three", {"OC-Checksum": "SHA1:" + "0" * 40})
    assert bad.status == 400
    assert dav.request("GET", "c.txt").body == b"two"
    good = dav.request("PUT", "c.txt", b"three", {"Oc-Checksum": "SHA1:" + hashlib.sha1(b"three").hexdigest()})
    assert good.status == 204
    assert dav.request("PUT", "nope/c.txt", b"x").status == 409
    chunked = dav.request("PUT", "chunked.bin", b"z" * 70000, chunked=True)
    assert chunked.status == 201, chunked.body
    assert dav.request("GET", "chunked.bin").body == b"z" * 70000


def test_mkcol_delete_and_propfind_rules(dav: DavStack) -> None:
    made = dav.request("MKCOL", "m")
    assert made.status == 201 and made.headers["OC-FileId"]
    assert dav.request("MKCOL", "m").status == 405
    assert dav.request("MKCOL", "no/such/parent").status == 409
    assert dav.request("PROPFIND", "m-missing", PROPS, {"Depth": "0"}).status == 404
    inf = dav.request("PROPFIND", "m", PROPS, {"Depth": "infinity"})
    assert inf.status == 403 and b"propfind-finite-depth" in inf.body
    (res,) = propfind(dav, "m", depth="0", body=b"")  # empty body: allprop
    assert prop(res, "d:getetag") and prop(res, "d:getlastmodified")
    junk = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:">x<d:prop>y<d:getetag/></d:prop>z</d:propfind>'
    assert prop(propfind(dav, "m", "0", junk)[0], "d:getetag")
    names = propfind(dav, "m", "0", b'<propfind xmlns="DAV:"><propname/></propfind>')[0]
    assert names.find("d:propstat/d:prop/d:getetag", NS) is not None
    assert dav.request("DELETE", "m").status == 204
    assert dav.request("DELETE", "m").status == 404


def test_folder_etag_changes_up_to_the_root(dav: DavStack) -> None:
    dav.request("MKCOL", "e1")
    dav.request("MKCOL", "e1/e2")
    before = [prop(propfind(dav, p, "0")[0], "d:getetag") for p in ("", "e1", "e1/e2")]
    assert dav.request("PUT", "e1/e2/f", b"x").status == 201
    after = [prop(propfind(dav, p, "0")[0], "d:getetag") for p in ("", "e1", "e1/e2")]
    assert all(a != b for a, b in zip(before, after))


def test_proppatch_dead_properties(dav: DavStack) -> None:
    dav.request("PUT", "p.txt", b"p")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:zzz">'
        "<d:set><d:prop><z:color>bl\u00fce \U0001f600</z:color><oc:favorite xmlns:oc='http://owncloud.org/ns'>1"
        "</oc:favorite></d:prop></d:set></d:propertyupdate>"
    ).encode()
    (res,) = multistatus(dav.request("PROPPATCH", "p.txt", body))
    assert res.findtext("d:propstat/d:status", namespaces=NS) == "HTTP/1.1 200 OK"
    ask = b'<d:propfind xmlns:d="DAV:"><d:prop><z:color xmlns:z="urn:zzz"/><f:favorite xmlns:f="http://owncloud.org/ns"/></d:prop></d:propfind>'
    (got,) = propfind(dav, "p.txt", "0", ask)
    assert prop(got, "{urn:zzz}color") == "bl\u00fce \U0001f600" and prop(got, "oc:favorite") == "1"
    remove = (
        b'<d:propertyupdate xmlns:d="DAV:"><d:remove><d:prop><z:color xmlns:z="urn:zzz"/></d:prop></d:remove>'
        b"</d:propertyupdate>"
    )
    assert dav.request("PROPPATCH", "p.txt", remove).status == 207
    assert prop(propfind(dav, "p.txt", "0", ask)[0], "{urn:zzz}color") is None
    protected = (
        b'<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:getetag>x</d:getetag></d:prop></d:set></d:propertyupdate>'
    )
    (res,) = multistatus(dav.request("PROPPATCH", "p.txt", protected))
    assert res.findtext("d:propstat/d:status", namespaces=NS) == "HTTP/1.1 403 Forbidden"


def test_copy_and_move(dav: DavStack) -> None:
    dav.request("MKCOL", "cm")
    dav.request("PUT", "cm/src.txt", b"source")
    dest = dav.url + "cm/copy.txt"
    assert dav.request("COPY", "cm/src.txt", headers={"Destination": dest}).status == 201
    assert dav.request("COPY", "cm/src.txt", headers={"Destination": dest, "Overwrite": "F"}).status == 412
    assert dav.request("COPY", "cm/src.txt", headers={"Destination": dest}).status == 204
    (src,) = propfind(dav, "cm/src.txt", "0")
    moved = dav.request("MOVE", "cm/src.txt", headers={"Destination": f"{dav.base}/cm/moved.txt"})
    assert moved.status == 201 and moved.headers["OC-FileId"] == prop(src, "oc:id")
    (after,) = propfind(dav, "cm/moved.txt", "0")
    assert prop(after, "oc:id") == prop(src, "oc:id") and prop(after, "d:getetag") == prop(src, "d:getetag")
    assert dav.request("MOVE", "cm/moved.txt", headers={"Destination": dest, "Overwrite": "F"}).status == 412
    assert dav.request("MOVE", "cm/moved.txt", headers={"Destination": dest}).status == 204
    assert dav.request("GET", "cm/copy.txt").body == b"source"
    assert dav.request("COPY", "cm", headers={"Destination": dav.url + "nowhere/cm"}).status == 409
    other = dav.request("COPY", "cm/copy.txt", headers={"Destination": "http://elsewhere.example/remote.php/webdav/x"})
    assert other.status == 502
    assert dav.request("MOVE", "cm/copy.txt", headers={"Destination": dav.url + "cm/copy.txt"}).status == 403


def test_locks(dav: DavStack) -> None:
    dav.request("PUT", "l.txt", b"locked")
    info = (
        b'<d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
        b"<d:locktype><d:write/></d:locktype><d:owner>me</d:owner></d:lockinfo>"
    )
    lock = dav.request("LOCK", "l.txt", info, {"Timeout": "Second-600"})
    assert lock.status == 200, lock.body
    token = lock.headers["Lock-Token"].strip("<>")
    assert token in lock.body.decode() and "Second-" in lock.body.decode()
    assert dav.request("PUT", "l.txt", b"intruder").status == 423
    assert dav.request("DELETE", "l.txt").status == 423
    assert dav.request("PUT", "l.txt", b"owner", {"If": f"(<{token}>)"}).status == 204
    assert dav.request("PUT", "l.txt", b"owner", {"If": "(<opaquelocktoken:wrong>)"}).status == 412
    refresh = dav.request("LOCK", "l.txt", None, {"If": f"(<{token}>)", "Timeout": "Second-100"})
    assert refresh.status == 200
    assert dav.request("UNLOCK", "l.txt", headers={"Lock-Token": "<opaquelocktoken:wrong>"}).status == 409
    assert dav.request("UNLOCK", "l.txt", headers={"Lock-Token": f"<{token}>"}).status == 204
    assert dav.request("DELETE", "l.txt").status == 204
    null = dav.request("LOCK", "lock-null.txt", info)
    assert null.status == 201
    assert dav.request("GET", "lock-null.txt").body == b""
    assert dav.request("UNLOCK", "lock-null.txt", headers={"Lock-Token": null.headers["Lock-Token"]}).status == 204


@pytest.mark.parametrize(
    "raw",
    ["..%2F..%2Fetc", "a%00b", "%ff%fe.txt", "x" * 256, quote("ü" * 128)],
    ids=["dotdot", "nul", "bad-utf8", "long-ascii", "long-utf8"],
)
def test_bad_paths_are_400(dav: DavStack, raw: str) -> None:
    for method, body in (("PUT", b"x"), ("PROPFIND", b""), ("MKCOL", None)):
        assert dav.request(method, raw, body, {"Depth": "0"}).status == 400, (method, raw)


def test_dotdot_leaving_the_space_is_400(dav: DavStack) -> None:
    assert dav.request("GET", f"{dav.base}/../../../etc/passwd").status == 400
    assert dav.request("GET", f"{dav.base}/a/%2e%2e/%2e%2e/x").status == 400


def test_malformed_xml_is_400_with_a_dav_error(dav: DavStack) -> None:
    for method, body in (
        ("PROPFIND", b"<d:propfind xmlns:d='DAV:'><d:prop>"),
        ("PROPPATCH", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'e'>]><x>&e;</x>"),
        ("LOCK", b"not xml at all"),
    ):
        r = dav.request(method, "", body, {"Depth": "0"})
        assert r.status == 400, (method, r.body)
        assert ET.fromstring(r.body).tag == "{DAV:}error"


def test_unicode_names_round_trip_nfc_and_nfd(dav: DavStack) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "Caf\u00e9 ü"), unicodedata.normalize("NFD", "Caf\u00e9 ü")
    assert nfc != nfd
    dav.request("MKCOL", "uni")
    assert dav.request("PUT", f"uni/{quote(nfc)}", b"nfc").status == 201
    assert dav.request("PUT", f"uni/{quote(nfd)}", b"nfd").status == 201
    hrefs = [r.findtext("d:href", namespaces=NS) or "" for r in propfind(dav, "uni")[1:]]
    assert sorted(unquote(h).rsplit("/", 1)[1] for h in hrefs) == sorted([nfc, nfd])
    assert all(re.fullmatch(r"[A-Za-z0-9/%._~-]+", h) for h in hrefs)
    assert dav.request("GET", f"uni/{quote(nfc)}").body == b"nfc"
    assert dav.request("GET", f"uni/{quote(nfd)}").body == b"nfd"


def test_legacy_webdav_prefixes(dav: DavStack) -> None:
    dav.request("PUT", "legacy.txt", b"legacy")
    for prefix in ("/remote.php/webdav", "/webdav", f"/dav/files/{dav.user}"):
        assert dav.request("GET", f"{prefix}/legacy.txt").body == b"legacy", prefix
    (res,) = propfind(dav, "/remote.php/webdav/legacy.txt", "0")
    assert res.findtext("d:href", namespaces=NS) == "/remote.php/webdav/legacy.txt"
    assert dav.request("GET", "/remote.php/dav/files/somebody-else/legacy.txt").status == 404


def test_quota_is_reported_and_enforced_with_507(dav: DavStack) -> None:
    assert dav.request("DELETE", "/remote.php/dav/trash-bin/admin/").status == 204  # the bin counts too
    ask = b'<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>'
    (root,) = propfind(dav, "", "0", ask)
    used, available = int(prop(root, "d:quota-used-bytes") or -1), int(prop(root, "d:quota-available-bytes") or -1)
    assert used > 0 and used + available == QUOTA
    assert dav.request("PUT", "too-big.bin", b"\0" * (available + 1)).status == 507
    assert dav.request("PUT", "too-big.bin", b"\0" * (available + 1), chunked=True).status == 507
    assert dav.request("PROPFIND", "too-big.bin", b"", {"Depth": "0"}).status == 404


def test_concurrent_puts_to_one_path_leave_one_whole_winner(dav: DavStack) -> None:
    bodies = [bytes([65 + i]) * (1 << 20) for i in range(4)]

    def put(body: bytes) -> int:
        return dav.request("PUT", "race.bin", body).status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(put, bodies))
    assert all(s in (201, 204) for s in statuses) and statuses.count(201) <= 1
    assert dav.request("GET", "race.bin").body in bodies
