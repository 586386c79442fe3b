"""GET and HEAD: the file's storage answers from its data server (Range and conditionals pass through)."""

from __future__ import annotations

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from .errors import DavError
from .gateway import ref
from .request import Dav


async def handle(dav: Dav) -> web.StreamResponse:
    request = pb.InitiateFileDownloadRequest(ref=ref(dav.path))
    reply = await dav.gw.call("InitiateFileDownload", request, overrides={"is-a-container": 405})
    if reply.info.type == pb.RESOURCE_TYPE_CONTAINER:
        raise DavError(405, "GET on a folder: use PROPFIND", headers={"Allow": "OPTIONS, PROPFIND, DELETE"})
    return await dav.services.data.download(dav.request, reply.download_url)
