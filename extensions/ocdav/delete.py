"""DELETE: remove a file or a folder with everything below it; 204."""

from __future__ import annotations

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from .errors import DavError
from .request import Dav


async def handle(dav: Dav) -> web.StreamResponse:
    if dav.path == "/":
        raise DavError(403, "the space root cannot be deleted")
    if_match = dav.request.headers.get("If-Match", "").strip()
    if if_match == "*":
        if_match = ""
        if await dav.gw.try_stat(dav.ref()) is None:
            raise DavError(412, "If-Match: * and nothing exists")
    request = pb.DeleteRequest(ref=dav.ref(), lock_tokens=dav.lock_tokens(), if_match=if_match.strip('"'))
    await dav.gw.call("Delete", request)
    return web.Response(status=204)
