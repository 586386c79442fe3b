"""The pure parts of ocdav: path normalisation, request XML, the If header, PROPFIND rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from extensions.ocdav import ifheader, paths, props, xml
from extensions.ocdav.errors import DavError
from extensions.ocdav.resource import ActiveLock, Resource

LIMIT = 1 << 20


def status_of(fn: object, *args: object) -> int:
    with pytest.raises(DavError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.status


def test_paths_split_space_and_normalise() -> None:
    p = paths.parse("/remote.php/dav/files/alice/a/./b/../c%20d/")
    assert (p.base, p.user, p.path) == ("/remote.php/dav/files/alice", "alice", "/a/c d")
    assert paths.parse("/remote.php/webdav").path == "/"
    assert paths.parse("/webdav/x?query=1").path == "/x"
    assert paths.parse("/dav/files/bob").path == "/"


@pytest.mark.parametrize(
    "raw",
    [
        "/remote.php/webdav/..",
        "/remote.php/webdav/a/../../etc",
        "/remote.php/webdav/%2e%2e/x",
        "/remote.php/webdav/a%00b",
        "/remote.php/webdav/%ff%fe",
        "/remote.php/webdav/" + "x" * 256,
        "/remote.php/webdav/" + "é" * 128,  # 256 bytes in UTF-8
    ],
)
def test_paths_bad_input_is_400(raw: str) -> None:
    assert status_of(paths.parse, raw) == 400


def test_paths_other_urls_are_404_and_long_names_up_to_255_bytes_pass() -> None:
    assert status_of(paths.parse, "/remote.php/webdavx/a") == 404
    assert paths.parse("/webdav/" + "x" * 255).path == "/" + "x" * 255


def test_paths_unicode_round_trips_exactly() -> None:
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    for name in (nfc, nfd, "日本語 ✓", "a+b&c;d=e%f#"):
        raw = paths.href("/remote.php/webdav", "/" + name, False)
        assert paths.parse(raw).path == "/" + name
    assert paths.href("/remote.php/webdav", "/" + nfc, False) != paths.href("/remote.php/webdav", "/" + nfd, False)
    assert paths.href("/remote.php/dav/files/alice", "/a b", True) == "/remote.php/dav/files/alice/a%20b/"


def test_destination_same_server_only() -> None:
    d = paths.parse_destination("http://h:1/remote.php/webdav/n%C3%A9w", {"h:1"})
    assert d.path == "/n\u00e9w"
    assert paths.parse_destination("/remote.php/webdav/x", {"h:1"}).path == "/x"
    assert status_of(paths.parse_destination, "http://other:1/remote.php/webdav/x", {"h:1"}) == 502
    assert status_of(paths.parse_destination, "", {"h:1"}) == 400


@pytest.mark.parametrize(
    "body",
    [
        b"<d:propfind xmlns:d='DAV:'><d:prop>",  # unterminated
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",  # DTD / entity
        b"<d:propfind xmlns:d='DAV:'><d:prop><bar:foo xmlns:bar=''/></d:prop></d:propfind>",  # empty prefix
        b"\xff\xfe<garbage",
    ],
)
def test_malformed_xml_is_400(body: bytes) -> None:
    assert status_of(xml.parse, body, LIMIT) == 400


def test_xml_size_limit_is_413() -> None:
    assert status_of(xml.parse, b"<a/>" + b" " * 100, 10) == 413


def test_propfind_forms() -> None:
    assert xml.parse_propfind(xml.parse(b"", LIMIT)).kind == "allprop"
    junk = b"<d:propfind xmlns:d='DAV:'>x<d:prop>y<d:getetag/><o:id xmlns:o='http://owncloud.org/ns'/></d:prop></d:propfind>"
    req = xml.parse_propfind(xml.parse(junk, LIMIT))
    assert (req.kind, req.props) == ("prop", ["{DAV:}getetag", "{http://owncloud.org/ns}id"])
    assert xml.parse_propfind(xml.parse(b"<propfind xmlns='DAV:'><propname/></propfind>", LIMIT)).kind == "propname"


def test_proppatch_keeps_values_with_namespaces() -> None:
    body = (
        "<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop><t:v xmlns:t='urn:t'><x xmlns='urn:x'>\U00010000</x></t:v>"
        "<n xmlns=''>plain</n></D:prop></D:set><D:remove><D:prop><t:gone xmlns:t='urn:t'/></D:prop></D:remove>"
        "</D:propertyupdate>"
    ).encode()
    ups = xml.parse_proppatch(xml.parse(body, LIMIT))
    assert [(u.name, u.value is None) for u in ups] == [("{urn:t}v", False), ("n", False), ("{urn:t}gone", True)]
    stored = ET.fromstring(ups[0].value or "")
    assert stored.tag == "{urn:t}v" and stored[0].tag == "{urn:x}x" and stored[0].text == "\U00010000"


def test_if_header_parse_and_evaluate() -> None:
    lists = ifheader.parse('(<opaquelocktoken:a> ["e1"]) (Not <DAV:no-lock> ["e2"])')
    assert ifheader.tokens(lists) == {"opaquelocktoken:a"}
    locked = ifheader.State('"e1"', frozenset({"opaquelocktoken:a"}))
    assert ifheader.evaluate(lists, {None: locked})
    assert ifheader.evaluate(lists, {None: ifheader.State('"e2"', frozenset())})
    assert not ifheader.evaluate(lists, {None: ifheader.State('"e3"', frozenset())})
    tagged = ifheader.parse("<http://h/remote.php/webdav/c/> (<opaquelocktoken:b>)")
    assert tagged[0].resource == "http://h/remote.php/webdav/c/"
    for bad in ("(", "()", "<x>", "(Not)", "junk", "(<a>) <b> (<c>)"):
        assert status_of(ifheader.parse, bad) == 400


def test_propfind_rendering_from_a_plain_resource() -> None:
    folder = Resource(path="/Ä b", is_dir=True, size=42, mtime=784111777, etag="e1", id="s!1", permissions="RDNVCK")
    lock = ActiveLock("opaquelocktoken:x", "exclusive", "infinity", "me", 60, "/Ä b")
    file = Resource(
        path="/Ä b/f.txt",
        is_dir=False,
        size=3,
        mtime=784111777,
        etag="e2",
        id="s!2",
        permissions="RDNVW",
        checksums={"SHA1": "aa", "MD5": "bb", "ADLER32": "cc"},
        props={"{urn:t}v": '<ns0:v xmlns:ns0="urn:t">1</ns0:v>'},
        locks=[lock],
    )
    view = props.View("/remote.php/dav/files/alice", "Alice", 1000)
    ask = xml.PropfindRequest("prop", ["{DAV:}getcontentlength", "{http://owncloud.org/ns}downloadURL", "{urn:t}v"])
    doc = ET.fromstring(
        xml.multistatus([props.Renderer(ask, view).render(folder), props.Renderer(ask, view).render(file)])
    )
    ns = {"d": "DAV:"}
    hrefs = [h.text for h in doc.findall("d:response/d:href", ns)]
    assert hrefs == ["/remote.php/dav/files/alice/%C3%84%20b/", "/remote.php/dav/files/alice/%C3%84%20b/f.txt"]
    stats = doc.findall("d:response", ns)[1].findall("d:propstat", ns)
    assert [s.findtext("d:status", namespaces=ns) for s in stats] == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]
    assert stats[0].findtext("d:prop/d:getcontentlength", namespaces=ns) == "3"
    assert stats[0].findtext("d:prop/{urn:t}v", namespaces=ns) == "1"
    every = ET.fromstring(xml.multistatus([props.Renderer(xml.PropfindRequest(), view).render(file)]))
    assert every.findtext(".//d:getlastmodified", namespaces=ns) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert every.findtext(".//d:getetag", namespaces=ns) == '"e2"'
    assert every.findtext(".//{http://owncloud.org/ns}checksum") == "SHA1:aa MD5:bb ADLER32:cc"
    assert every.findtext(".//d:activelock/d:locktoken/d:href", namespaces=ns) == "opaquelocktoken:x"
