"""MKCOL: create a folder; 201, 405 when something exists there, 409 when the parent is missing."""

from __future__ import annotations

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from .errors import DavError
from .request import Dav


async def handle(dav: Dav) -> web.StreamResponse:
    if dav.request.body_exists:
        body = await dav.request.read()
        if body.strip():
            raise DavError(415, "MKCOL with a body is not supported")
    if dav.path == "/":
        raise DavError(405, "the space root exists")
    request = pb.CreateContainerRequest(ref=dav.ref(), lock_tokens=dav.lock_tokens(), mtime_ns=dav.mtime_ns())
    reply = await dav.gw.call("CreateContainer", request)
    info = reply.info
    etag = f'"{info.etag}"'
    return web.Response(
        status=201, headers={"OC-FileId": info.id, "ETag": etag, "OC-ETag": etag, "OC-Perm": info.permissions}
    )
