"""REPORT: oc:filter-files (favorites set by PROPPATCH) and oc:search-files (paged name search in storage)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.support import webdav_stack
from tests.support.harness import Deployment

NS = 'xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"'
PROPS = "<d:prop><oc:fileid/><d:getcontentlength/><oc:favorite/><d:resourcetype/></d:prop>"


def favorites_body(props: str = PROPS) -> bytes:
    rules = "<oc:filter-rules><oc:favorite>1</oc:favorite></oc:filter-rules>"
    return f'<?xml version="1.0"?><oc:filter-files {NS}>{props}{rules}</oc:filter-files>'.encode()


def search_body(pattern: str, limit: int | None = None, offset: int | None = None) -> bytes:
    paging = (f"<oc:limit>{limit}</oc:limit>" if limit is not None else "") + (
        f"<oc:offset>{offset}</oc:offset>" if offset is not None else ""
    )
    search = f"<oc:search><oc:pattern>{pattern}</oc:pattern>{paging}</oc:search>"
    return f'<?xml version="1.0"?><oc:search-files {NS}>{PROPS}{search}</oc:search-files>'.encode()


def hrefs(reply: webdav_stack.Reply) -> list[str]:
    assert reply.status == 207, reply
    assert reply.headers["Content-Type"] == "application/xml; charset=utf-8"
    return [r.findtext("{DAV:}href") or "" for r in ET.fromstring(reply.body).iter("{DAV:}response")]


def favorite(dav: webdav_stack.DavStack, path: str, on: bool) -> None:
    prop = f"<d:prop><oc:favorite>{int(on)}</oc:favorite></d:prop>"
    body = f"<d:propertyupdate {NS}><d:set>{prop}</d:set></d:propertyupdate>"
    assert dav.request("PROPPATCH", path, body.encode()).status == 207


def test_favorites_report(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    for folder in ("docs", "docs/deep", "other"):
        assert dav.request("MKCOL", folder).status == 201
    for name in ("docs/a.txt", "docs/deep/b.txt", "other/c.txt", "top.txt"):
        assert dav.request("PUT", name, b"12345").status == 201
    for path in ("docs/deep/b.txt", "other/c.txt", "docs/deep", "top.txt"):
        favorite(dav, path, True)
    favorite(dav, "top.txt", False)  # unmarked again

    base = dav.base
    everywhere = hrefs(dav.request("REPORT", "", favorites_body()))
    assert sorted(everywhere) == [f"{base}/docs/deep/", f"{base}/docs/deep/b.txt", f"{base}/other/c.txt"]
    below = hrefs(dav.request("REPORT", "docs", favorites_body()))
    assert sorted(below) == [f"{base}/docs/deep/", f"{base}/docs/deep/b.txt"]
    # The asked properties, with their values, as PROPFIND answers them.
    reply = dav.request("REPORT", "other", favorites_body())
    prop = ET.fromstring(reply.body).find(".//{DAV:}prop")
    assert prop is not None and prop.findtext("{http://owncloud.org/ns}favorite") == "1"
    assert prop.findtext("{DAV:}getcontentlength") == "5"
    found = ET.fromstring(dav.request("PROPFIND", "other/c.txt", b"", {"Depth": "0"}).body)
    assert prop.findtext("{http://owncloud.org/ns}fileid") == found.findtext(".//{http://owncloud.org/ns}fileid")
    # On /remote.php/webdav too.
    old = webdav_stack.DavStack(dav.root, "/remote.php/webdav", dav.auth, dav.proxied)
    assert sorted(hrefs(old.request("REPORT", "other", favorites_body()))) == ["/remote.php/webdav/other/c.txt"]


def test_search_report(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    assert dav.request("MKCOL", "Reports").status == 201
    names = [f"Reports/Quarter-{i:02d}.TXT" for i in range(12)] + ["notes.txt", "Résumé-QUARTER.md"]
    for name in names:
        assert dav.request("PUT", name.replace("é", "%C3%A9"), b"x").status == 201

    # Case-insensitive substring, folders included, paged with a Content-Range.
    first = dav.request("REPORT", "", search_body("quarter", limit=5))
    page = hrefs(first)
    assert len(page) == 5 and first.headers["Content-Range"] == "rows 0-4/13"
    rest = hrefs(dav.request("REPORT", "", search_body("QUARTER", limit=5, offset=5)))
    last = dav.request("REPORT", "", search_body("Quarter", limit=5, offset=10))
    assert last.headers["Content-Range"] == "rows 10-12/13"
    every = page + rest + hrefs(last)
    assert len(set(every)) == 13 and f"{dav.base}/R%C3%A9sum%C3%A9-QUARTER.md" in every
    assert hrefs(dav.request("REPORT", "", search_body("report"))) == [f"{dav.base}/Reports/"]
    assert hrefs(dav.request("REPORT", "", search_body("nothing-like-it"))) == []
    # A huge limit is capped, not refused.
    assert len(hrefs(dav.request("REPORT", "", search_body("quarter", limit=10**9)))) == 13

    # Malformed or incomplete bodies are 400; a report we do not know is 501.
    assert dav.request("REPORT", "", b"<oc:search-files").status == 400
    assert dav.request("REPORT", "", b"").status == 400
    assert dav.request("REPORT", "", search_body("")).status == 400
    assert dav.request("REPORT", "", search_body("q", limit=-1)).status == 400
    unknown = f'<?xml version="1.0"?><d:sync-collection {NS}><d:sync-token/></d:sync-collection>'.encode()
    assert dav.request("REPORT", "", unknown).status == 501
    assert dav.request("REPORT", "nowhere", search_body("q")).status == 404
    assert "REPORT" in dav.request("OPTIONS", "").headers["Allow"]
