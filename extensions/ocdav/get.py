"""GET and HEAD: the file's storage answers from its data server (Range and conditionals pass through)."""

from __future__ import annotations

from aiohttp import web

from ocisd.api.postprocessing.v1.contract import REASON_BLOCKED, REASON_PROCESSING
from ocisd.api.storage.v1 import storage_pb2 as pb

from .errors import DavError
from .request import Dav

# A revision held by postprocessing: 425 Too Early (+ Retry-After) while processing, 403 when blocked.
DOWNLOAD_STATUS = {"is-a-container": 405, REASON_PROCESSING: 425, REASON_BLOCKED: 403}


async def handle(dav: Dav) -> web.StreamResponse:
    request = pb.InitiateFileDownloadRequest(ref=dav.ref())
    reply = await dav.gw.call("InitiateFileDownload", request, overrides=DOWNLOAD_STATUS)
    if reply.info.type == pb.RESOURCE_TYPE_CONTAINER:
        raise DavError(405, "GET on a folder: use PROPFIND", headers={"Allow": "OPTIONS, PROPFIND, DELETE"})
    return await dav.services.data.download(dav.request, reply.download_url)
