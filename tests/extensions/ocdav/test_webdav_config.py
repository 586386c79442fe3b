"""ocdav settings that change answers: PROPFIND `Depth: infinity` when enabled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import unquote

from tests.support import webdav_stack
from tests.support.harness import Deployment


def test_propfind_depth_infinity_when_enabled(dep: Deployment) -> None:
    dav = webdav_stack.start(dep, env={"OCDAV_PROPFIND_INFINITY": "true", "OCDAV_LIST_PAGE_SIZE": "2"}, proxied=False)
    for folder in ("t", "t/a", "t/a/b", "t/c"):
        assert dav.request("MKCOL", folder).status == 201
    for name in ("t/1.txt", "t/a/2.txt", "t/a/b/3.txt", "t/a/b/4.txt", "t/a/b/5.txt"):
        assert dav.request("PUT", name, b"x").status == 201
    reply = dav.request("PROPFIND", "t/", b"", {"Depth": "infinity"})
    assert reply.status == 207
    hrefs = [unquote(h.text or "").removeprefix(dav.base) for h in ET.fromstring(reply.body).iter("{DAV:}href")]
    assert hrefs[0] == "/t/"
    expected = {"/t/", "/t/a/", "/t/a/b/", "/t/c/", "/t/1.txt", "/t/a/2.txt", "/t/a/b/3.txt", "/t/a/b/4.txt"}
    assert set(hrefs) == expected | {"/t/a/b/5.txt"} and len(hrefs) == len(set(hrefs))
