"""`/remote.php/dav/meta/<fileid>`: a file's path for the caller and its versions, as oCIS serves them.

    PROPFIND <fileid>          oc:meta-path-for-user (the file's path in the caller's files)
    PROPFIND <fileid>/v        the versions: getlastmodified, getcontentlength, getetag, edited-by
    GET|HEAD <fileid>/v/<key>  one version's bytes, from the storage's data server
    COPY     <fileid>/v/<key>  Destination: the file itself (/remote.php/dav/files/<user>/<path>):
                               restore it; the current content becomes a version (204)

Another user's file answers 404, as a missing one does.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import paths, xml
from .errors import DavError
from .paths import DavPath
from .request import Dav, Handler
from .xml import DAV, OC, PropfindRequest, clark

PREFIX = "/remote.php/dav/meta"
ROUTES = (PREFIX + "/",)
HIDDEN = {"forbidden": 404}  # someone else's file is as absent as a missing one
Props = dict[str, Callable[[], str]]


def parse(raw_target: str) -> DavPath | None:
    """The meta path of a request (`path` = "/<fileid>", "/<fileid>/v" or "/<fileid>/v/<key>"), None for others."""
    text = paths.decode(raw_target.split("?", 1)[0])
    if not text.startswith(ROUTES[0]):
        return None
    return DavPath(PREFIX, None, paths.normalise(text[len(PREFIX) :]))


def _parts(dav: Dav) -> tuple[str, str | None]:
    """(file id, version key): key None for `<fileid>`, "" for the `v` collection."""
    parts = dav.path.strip("/").split("/") if dav.path != "/" else []
    if not parts or len(parts) > 3 or (len(parts) > 1 and parts[1] != "v"):
        raise DavError(404, "not a meta resource")
    return parts[0], (parts[2] if len(parts) == 3 else "") if len(parts) > 1 else None


def _file(file_id: str) -> pb.Reference:
    return pb.Reference(node_id=file_id)


def _href(*segments: str) -> str:
    return quote("/".join((PREFIX, *segments)), safe="/")


def _render(href: str, values: Props, req: PropfindRequest) -> str:
    names = req.props if req.kind == "prop" else list(values)
    found = [xml.element(n) if req.kind == "propname" else xml.element(n, values[n]()) for n in names if n in values]
    missing = [xml.element(n) for n in names if n not in values]
    stats = [xml.propstat(200, found)] if found or not missing else []
    if missing:
        stats.append(xml.propstat(404, missing))
    return xml.response(href, stats)


def _version_props(v: pb.FileVersion, mime: str) -> Props:
    return {
        clark(DAV, "resourcetype"): lambda: "",
        clark(DAV, "getlastmodified"): lambda: xml.http_date(v.mtime_ns / 1e9),
        clark(DAV, "getcontentlength"): lambda: str(v.size),
        clark(DAV, "getcontenttype"): lambda: xml.text(mime),
        clark(DAV, "getetag"): lambda: xml.text(f'"{v.etag}"'),
        clark(OC, "meta-version-edited-by"): lambda: xml.text(v.edited_by),
    }


async def propfind(dav: Dav) -> web.StreamResponse:
    file_id, key = _parts(dav)
    req = xml.parse_propfind(await dav.xml_body())
    if key is None:
        info = (await dav.gw.call("Stat", pb.StatRequest(ref=_file(file_id)), HIDDEN)).info
        props: Props = {
            clark(OC, "meta-path-for-user"): lambda: xml.text(info.path),
            clark(OC, "fileid"): lambda: xml.text(info.id),
            clark(OC, "id"): lambda: xml.text(info.id),
        }
        return _multistatus([_render(_href(file_id), props, req)])
    if key:
        raise DavError(405, "a version has no properties of its own: PROPFIND its `v` collection")
    depth = dav.depth("1", ("0", "1"))
    reply = await dav.gw.call("ListFileVersions", pb.ListFileVersionsRequest(ref=_file(file_id)), HIDDEN)
    folder: Props = {clark(DAV, "resourcetype"): lambda: "<d:collection/>"}
    parts = [_render(_href(file_id, "v") + "/", folder, req)]
    if depth == "1":
        mime = reply.info.mime_type
        parts += [_render(_href(file_id, "v", v.key), _version_props(v, mime), req) for v in reply.versions]
    return _multistatus(parts)


def _multistatus(responses: list[str]) -> web.Response:
    return web.Response(status=207, body=xml.multistatus(responses), headers={"Content-Type": xml.CONTENT_TYPE})


def _version(dav: Dav) -> tuple[str, str]:
    file_id, key = _parts(dav)
    if not key:
        raise DavError(405, f"{dav.request.method} works on one version: /meta/<fileid>/v/<key>")
    return file_id, key


async def get(dav: Dav) -> web.StreamResponse:
    file_id, key = _version(dav)
    request = pb.InitiateVersionDownloadRequest(ref=_file(file_id), key=key)
    reply = await dav.gw.call("InitiateVersionDownload", request, HIDDEN)
    return await dav.services.data.download(dav.request, reply.download_url)


async def restore(dav: Dav) -> web.StreamResponse:
    file_id, key = _version(dav)
    hosts = {dav.request.host, dav.request.headers.get("X-Forwarded-Host", "")} - {""}
    dest = paths.parse_destination(dav.request.headers.get("Destination", ""), hosts)
    if dest.user is not None and dest.user not in (dav.who.username, dav.who.user_id):
        raise DavError(403, "a version is restored into its owner's files")
    target = await dav.gw.try_stat(dav.ref_of(dest))
    if target is None or target.id != file_id:
        raise DavError(409, "Destination must be the file the version belongs to")
    request = pb.RestoreFileVersionRequest(ref=_file(file_id), key=key, lock_tokens=dav.lock_tokens())
    info = (await dav.gw.call("RestoreFileVersion", request, HIDDEN)).info
    etag = f'"{info.etag}"'
    return web.Response(status=204, headers={"OC-FileId": info.id, "ETag": etag, "OC-ETag": etag})


HANDLERS: dict[str, Handler] = {"PROPFIND": propfind, "GET": get, "HEAD": get, "COPY": restore}
