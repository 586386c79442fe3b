"""PUT: stream the body to a signed upload URL of the storage; 201 created, 204 replaced."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import FILE_PERMISSIONS

from .errors import DavError
from .request import Dav


def _upload_error(status: int, payload: dict[str, Any]) -> DavError:
    reason, message = payload.get("reason", ""), payload.get("message", "")
    if status == 423:
        return DavError(423, message or reason, "<d:lock-token-submitted/>")
    if status in (400, 409, 412, 413, 503, 507):  # 503: a blob store (S3) is away
        return DavError(status, message or reason)
    return DavError(502, f"upload failed at the data server: {status} {reason} {message}".strip())


async def preconditions(dav: Dav) -> tuple[str, bool]:
    """(if_match etag, if_none_match) from the request, judged against the file it names (the
    target of a PUT, or the file legacy chunks make up); `If-Match: *` needs something to exist."""
    if_match = dav.request.headers.get("If-Match", "").strip()
    if_none_match = dav.request.headers.get("If-None-Match", "").strip()
    if if_match == "*":
        if_match = ""
        if await dav.gw.try_stat(dav.ref()) is None:
            raise DavError(412, "If-Match: * and nothing exists")
    if if_none_match and if_none_match != "*":
        info = await dav.gw.try_stat(dav.ref())
        if info is not None and f'"{info.etag}"' in [t.strip() for t in if_none_match.split(",")]:
            raise DavError(412, "If-None-Match matches the current etag")
    return if_match.removeprefix("W/").strip('"'), if_none_match == "*"


async def handle(dav: Dav) -> web.StreamResponse:
    if dav.path == "/" or dav.request.raw_path.split("?", 1)[0].endswith("/"):
        raise DavError(409, "PUT needs a file name")
    if_match, if_none_match = await preconditions(dav)
    size = dav.request.content_length
    checksum = dav.request.headers.get("OC-Checksum", "")
    mtime = dav.request.headers.get("X-OC-Mtime", "")
    request = pb.InitiateUploadRequest(
        ref=dav.ref(),
        size=size if size is not None else -1,
        checksum=checksum,
        if_match=if_match,
        if_none_match=if_none_match,
        mtime_ns=dav.mtime_ns(),
        lock_tokens=dav.lock_tokens(),
    )
    init = await dav.gw.call("InitiateUpload", request)
    headers = {}
    if checksum:
        headers["OC-Checksum"] = checksum
    if mtime:
        headers["X-OC-Mtime"] = mtime
    up = await dav.services.data.send(dav.request, "PUT", init.upload_url, headers)
    if up.status not in (200, 201):
        raise _upload_error(up.status, up.payload)
    payload = up.payload
    etag = f'"{payload.get("etag", "")}"'
    out = {"ETag": etag, "OC-ETag": etag, "OC-FileId": str(payload.get("id", "")), "OC-Perm": FILE_PERMISSIONS}
    if mtime:
        out["X-OC-MTime"] = "accepted"
    return web.Response(status=201 if payload.get("created") else 204, headers=out)
