"""The preview endpoint's pure parts: which file a URL names for whom, sizes, If-None-Match, data URLs."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from extensions.webdav.errors import PreviewError
from extensions.webdav.request import etags, reference, thumbnail_request
from extensions.webdav.thumbnails import on_address
from ocisd.identity import Identity, Scope

ALICE = Identity(user_id="u-alice", username="alice", display_name="Alice")
LINK = Identity(user_id="", username="public", display_name="", scope=Scope("space!node", 1))


def refused(fn: object, *args: object) -> int:
    with pytest.raises(PreviewError) as err:
        fn(*args)  # type: ignore[operator]
    return err.value.status


def test_urls_name_the_callers_files_only() -> None:
    assert reference("/remote.php/dav/files/alice/a/./b.png?preview=1", ALICE).path == "/a/b.png"
    assert reference("/remote.php/dav/files/u-alice/b.png", ALICE).path == "/b.png"
    assert reference("/remote.php/webdav/%C3%A4.png", ALICE).path == "/ä.png"
    assert refused(reference, "/remote.php/dav/files/bob/b.png", ALICE) == 404
    assert refused(reference, "/remote.php/webdav/../x.png", ALICE) == 400
    assert refused(reference, "/remote.php/dav/public-files/tok/x.png", ALICE) == 404  # no link token
    assert refused(reference, "/remote.php/webdav/x.png", LINK) == 404  # a link reaches its resource only


def test_public_urls_are_below_the_links_resource() -> None:
    ref = reference("/remote.php/dav/public-files/tok/sub/x.png", LINK)
    assert (ref.node_id, ref.path) == ("space!node", "/sub/x.png")
    assert refused(reference, "/remote.php/dav/public-files/tok/../x.png", LINK) == 400


def test_sizes_default_to_32_and_refuse_what_is_not_a_positive_int32() -> None:
    asked = thumbnail_request("/remote.php/webdav/a.png", MultiDict(), ALICE, "")
    assert (asked.width, asked.height, asked.preserve_aspect, asked.processor) == (32, 32, True, "")
    asked = thumbnail_request("/remote.php/webdav/a.png", MultiDict(x="64", a="0", processor="fit"), ALICE, '"t1"')
    assert (asked.width, asked.height, asked.preserve_aspect, asked.processor) == (64, 32, False, "fit")
    assert asked.if_none_match == "t1"
    for query in ({"x": "0"}, {"y": "-3"}, {"x": "2147483648"}, {"x": "1e3"}, {"a": "maybe"}):
        assert refused(thumbnail_request, "/remote.php/webdav/a.png", MultiDict(query), ALICE, "") == 400


def test_if_none_match_lists() -> None:
    assert etags('"a", W/"b" ,"c"') == ["a", "b", "c"]
    assert etags("") == []


def test_data_urls_only_on_an_announced_address() -> None:
    announced = ["127.0.0.1:9186"]
    assert on_address("http://127.0.0.1:9186/data/tok", announced)
    assert not on_address("http://127.0.0.1:9200/data/tok", announced)
    assert not on_address("https://127.0.0.1:9186/data/tok", announced)
    assert not on_address("http://x@127.0.0.1:9186/data/tok", announced)
    assert not on_address("http://127.0.0.1:9186/data/tok", [])


def test_errors_have_sabre_bodies() -> None:
    resp = PreviewError(425, "still <processing>", {"Retry-After": "5"}).response()
    assert resp.status == 425 and resp.headers["Retry-After"] == "5"
    assert resp.body == (
        b'<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
        b"<s:exception>Sabre\\DAV\\Exception\\TooEarly</s:exception>"
        b"<s:message>still &lt;processing&gt;</s:message></d:error>"
    )
