"""REPORT as ownCloud clients send it: `oc:filter-files` (favorites) and `oc:search-files` (name search).

Both are answered from the storage's metadata by one `Search` call, never by
walking the tree here, as a 207 multistatus with the `<d:prop>` properties the
client asked for (all live ones without `<d:prop>`). `filter-files` lists the
favorites below the request's folder; `search-files` pages through names
containing `oc:pattern` (case-insensitive) with `oc:limit` (capped) and
`oc:offset`, and says where the page lies in `Content-Range: rows a-b/total`.
As in reva, a body that is not XML is a 400 and any other report a 501.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import paths, props, xml
from .errors import DavError
from .request import Dav
from .resource import from_info

FILTER_FILES = xml.clark(xml.OC, "filter-files")
SEARCH_FILES = xml.clark(xml.OC, "search-files")
MAX_LIMIT = 1000  # what storage answers at most; a bigger oc:limit gets this many
DEFAULT_LIMIT = 100
NO_SEARCH = {"no-search": 501}  # a storage driver that cannot search


def _requested(root: ET.Element) -> xml.PropfindRequest:
    found = root.find(xml.clark(xml.DAV, "prop"))
    return xml.PropfindRequest() if found is None else xml.PropfindRequest("prop", [p.tag for p in found])


def _number(parent: ET.Element | None, name: str, default: int) -> int:
    text = (parent.findtext(xml.clark(xml.OC, name)) if parent is not None else None) or ""
    if not text.strip():
        return default
    if not text.strip().isdigit():
        raise DavError(400, f"oc:{name} must be a non-negative number")
    return int(text)


def _query(root: ET.Element) -> tuple[pb.SearchRequest, bool]:
    """The storage query of a report body, and whether it is a (paged) search."""
    if root.tag == FILTER_FILES:
        rules = root.find(xml.clark(xml.OC, "filter-rules"))
        favorite = (rules.findtext(xml.clark(xml.OC, "favorite")) if rules is not None else None) or ""
        if favorite.strip() not in ("1", "true"):
            raise DavError(501, "only the oc:favorite filter rule is supported")
        return pb.SearchRequest(favorites=True, limit=MAX_LIMIT), False
    if root.tag == SEARCH_FILES:
        search = root.find(xml.clark(xml.OC, "search"))
        pattern = ((search.findtext(xml.clark(xml.OC, "pattern")) if search is not None else None) or "").strip()
        if not pattern:
            raise DavError(400, "oc:search-files needs an oc:pattern")
        limit = min(_number(search, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
        offset = _number(search, "offset", 0)
        if offset >= 2**31:
            raise DavError(400, "oc:offset out of range")
        return pb.SearchRequest(pattern=pattern, limit=limit, offset=offset), True
    raise DavError(501, f"the report {root.tag} is not supported")


async def handle(dav: Dav) -> web.StreamResponse:
    root = await dav.xml_body()
    if root is None:
        raise DavError(400, "REPORT needs a body")
    query, paged = _query(root)
    query.ref.CopyFrom(dav.ref())
    reply = await dav.gw.call("Search", query, overrides=NO_SEARCH)
    infos = list(reply.infos)
    while not paged and reply.infos and len(infos) < reply.total:  # every favorite, page by page
        query.offset = len(infos)
        reply = await dav.gw.call("Search", query, overrides=NO_SEARCH)
        infos += reply.infos
    renderer = props.Renderer(_requested(root), dav.view())
    body = xml.multistatus(
        renderer.render(from_info(info, paths.in_space(dav.target.space, info.path or "/"))) for info in infos
    )
    headers = {"Content-Type": xml.CONTENT_TYPE}
    if paged and infos:
        first = query.offset
        headers["Content-Range"] = f"rows {first}-{first + len(infos) - 1}/{reply.total}"
    return web.Response(status=207, body=body, headers=headers)
