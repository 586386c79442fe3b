"""GET and HEAD: stream a file from its storage's data server (Range, conditional requests pass through)."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.httpd import body_pieces

from . import sendfile
from .errors import DavError
from .gateway import ref
from .request import Dav

FORWARD_REQUEST = ("Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since")
FORWARD_RESPONSE = (
    "ETag",
    "Last-Modified",
    "Content-Length",
    "Content-Type",
    "Content-Range",
    "Accept-Ranges",
    "OC-Checksum",
    "OC-FileId",
)


async def handle(dav: Dav) -> web.StreamResponse:
    request = pb.InitiateFileDownloadRequest(ref=ref(dav.path))
    reply = await dav.gw.call("InitiateFileDownload", request, overrides={"is-a-container": 405})
    if reply.info.type == pb.RESOURCE_TYPE_CONTAINER:
        raise DavError(405, "GET on a folder: use PROPFIND", headers={"Allow": "OPTIONS, PROPFIND, DELETE"})
    if reply.local_path and reply.local_host == dav.services.host:
        local = await sendfile.send(dav.request, reply.local_path, reply.info)
        if local is not None:
            return local
    head = dav.request.method == "HEAD"
    forward = {h: v for h in FORWARD_REQUEST if (v := dav.request.headers.get(h))}
    try:
        async with dav.services.http.request(dav.request.method, reply.download_url, headers=forward) as up:
            headers = {h: v for h in FORWARD_RESPONSE if (v := up.headers.get(h))}
            if "ETag" in headers:
                headers["OC-ETag"] = headers["ETag"]
            headers.setdefault("OC-FileId", reply.info.id)
            if up.status >= 400 and up.status not in (412, 416):
                raise DavError(502 if up.status != 404 else 404, f"data server answered {up.status}")
            resp = web.StreamResponse(status=up.status, headers=headers)
            await resp.prepare(dav.request)
            if not head and up.status not in (304, 412):
                async for chunk in body_pieces(up.content):
                    await resp.write(chunk)
            await resp.write_eof()
            return resp
    except aiohttp.ClientError as exc:
        raise DavError(503, f"data server unreachable: {exc}") from None
