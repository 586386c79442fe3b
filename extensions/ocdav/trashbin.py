"""`/remote.php/dav/trash-bin/{user}/{key}`: the caller's trash bin as oCIS serves it.

PROPFIND lists the deleted items with `oc:trashbin-original-filename`,
`oc:trashbin-original-location`, `oc:trashbin-delete-datetime` and
`oc:trashbin-delete-timestamp`; MOVE of an item with a `Destination` restores it
(409 when the parent is gone, 412 when the name is taken: never overwritten);
DELETE of an item purges it, DELETE of the bin itself empties it.
"""

from __future__ import annotations

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import paths, uploads, xml
from .errors import DavError
from .paths import DavPath
from .request import Dav, Handler
from .xml import DAV, OC, clark, element, text

PREFIX = "/remote.php/dav/trash-bin/"
ROUTES = (PREFIX,)
HOME = pb.Reference()  # the caller's personal space: the only bin this path names
COLLECTION = clark(DAV, "resourcetype")


def parse(raw_target: str) -> DavPath | None:
    """The bin path of a request (`path` = "/" or "/{key}"), None for other URLs."""
    return paths.user_folder(PREFIX, raw_target)


def _key(dav: Dav) -> str:
    parts = dav.path.strip("/").split("/") if dav.path != "/" else []
    if len(parts) > 1:
        raise DavError(404, "items inside a deleted folder come back with it: restore the folder")
    return parts[0] if parts else ""


def _props(item: pb.TrashItem) -> dict[str, str]:
    """Clark name -> inner XML of an item's properties."""
    info = item.info
    folder = info.type == pb.RESOURCE_TYPE_CONTAINER
    found = {
        COLLECTION: "<d:collection/>" if folder else "",
        clark(DAV, "getlastmodified"): xml.http_date(info.mtime_ns / 1e9),
        clark(DAV, "getetag"): text(f'"{info.etag}"'),
        clark(OC, "id"): text(info.id),
        clark(OC, "fileid"): text(info.id),
        clark(OC, "size"): str(info.size),
        clark(OC, "trashbin-original-filename"): text(info.name),
        clark(OC, "trashbin-original-location"): text(item.original_path.lstrip("/")),
        clark(OC, "trashbin-delete-datetime"): xml.http_date(item.deleted),
        clark(OC, "trashbin-delete-timestamp"): str(item.deleted),
    }
    if not folder:
        found[clark(DAV, "getcontentlength")] = str(info.size)
        found[clark(DAV, "getcontenttype")] = text(info.mime_type)
    return found


def _response(href: str, found: dict[str, str], req: xml.PropfindRequest) -> str:
    if req.kind == "propname":
        return xml.response(href, [xml.propstat(200, (element(n) for n in found))])
    if req.kind == "allprop":
        return xml.response(href, [xml.propstat(200, (element(n, v) for n, v in found.items()))])
    stats = [xml.propstat(200, [element(n, found[n]) for n in req.props if n in found])]
    missing = [element(n) for n in req.props if n not in found]
    if missing:
        stats.append(xml.propstat(404, missing))
    return xml.response(href, stats)


async def propfind(dav: Dav) -> web.StreamResponse:
    depth = dav.depth("1", ("0", "1", "infinity"))
    req = xml.parse_propfind(await dav.xml_body())
    key = _key(dav)
    reply = await dav.gw.call("ListTrash", pb.ListTrashRequest(ref=HOME), overrides={"no-trash": 404})
    base = dav.target.base
    if key:
        items = [i for i in reply.items if i.key == key]
        if not items:
            raise DavError(404, "no such item in the trash bin")
        out = [_response(paths.href(base, f"/{key}", False), _props(items[0]), req)]
    else:
        out = [_response(paths.href(base, "/", True), {COLLECTION: "<d:collection/>"}, req)]
        if depth != "0":
            out += [_response(paths.href(base, f"/{i.key}", False), _props(i), req) for i in reply.items]
    return web.Response(status=207, body=xml.multistatus(out), headers={"Content-Type": xml.CONTENT_TYPE})


async def restore(dav: Dav) -> web.StreamResponse:
    key = _key(dav)
    if not key:
        raise DavError(403, "the trash bin itself cannot be moved")
    dest = dav.destination(403)
    if dest.path == "/":
        raise DavError(403, "the space root cannot be replaced")
    request = pb.RestoreTrashItemRequest(ref=HOME, key=key, destination=dav.ref_of(dest), lock_tokens=dav.lock_tokens())
    reply = await dav.gw.call("RestoreTrashItem", request, overrides={"exists": 412, "no-trash": 404})
    return web.Response(status=201, headers=uploads.committed(reply.info, False))


async def purge(dav: Dav) -> web.StreamResponse:
    await dav.gw.call("PurgeTrash", pb.PurgeTrashRequest(ref=HOME, key=_key(dav)), overrides={"no-trash": 404})
    return web.Response(status=204)


HANDLERS: dict[str, Handler] = {
    "PROPFIND": propfind,
    "MOVE": restore,
    "DELETE": purge,
}
