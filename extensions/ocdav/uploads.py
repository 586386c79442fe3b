"""`/remote.php/dav/uploads/{user}/{id}`: resumable upload sessions kept in storage.

Chunking NG (MKCOL, PUT of named chunks, PROPFIND, MOVE of `.file`) and TUS
(HEAD, PATCH at an offset) share this folder; DELETE aborts either. The bytes
go straight to the session's signed data URL on the storage's data server, so a
SIGKILL of ocdav loses at most the request in flight.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import paths
from .errors import DavError
from .paths import DavPath
from .request import Dav

PREFIX = "/remote.php/dav/uploads/"
ROUTES = (PREFIX,)
FINISH_TIMEOUT = 900.0  # assembly copies and hashes the whole file: proportional to its size
RESUMABLE = {"Tus-Resumable": "1.0.0"}


def parse(raw_target: str) -> DavPath | None:
    """The upload-folder path of a request (`path` = "/", "/{id}" or "/{id}/{chunk}"), None for other URLs."""
    return paths.user_folder(PREFIX, raw_target)


def session_name(dav: Dav) -> str:
    """The `{id}` segment: a chunking NG transfer id or a TUS session name (bare names live in the home)."""
    name = dav.path.split("/")[1] if dav.path != "/" else ""
    if not name:
        raise DavError(405, "the uploads folder itself cannot be changed")
    return name


async def get_session(dav: Dav) -> pb.UploadSession:
    return await dav.gw.call("GetUploadSession", pb.GetUploadSessionRequest(session_id=session_name(dav)))


async def delete(dav: Dav) -> web.StreamResponse:
    if dav.path.count("/") > 1:
        raise DavError(403, "single chunks cannot be deleted: DELETE the upload folder")
    await dav.gw.call("DeleteUploadSession", pb.DeleteUploadSessionRequest(session_id=session_name(dav)))
    return web.Response(status=204, headers=RESUMABLE)


async def send(dav: Dav, method: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Stream the request body to the session's data URL; its status and `Upload-Offset` on success."""
    up = await dav.services.data.send(dav.request, method, url, headers)
    if up.status >= 400:
        raise _data_error(up.status, up.payload)
    return {"status": up.status, "offset": up.headers.get("Upload-Offset", "")}


def _data_error(status: int, payload: dict[str, Any]) -> DavError:
    reason, message = payload.get("reason", ""), payload.get("message", "")
    if status in (400, 404, 409, 413, 503, 507):  # 503: a blob store (S3) is away
        return DavError(status, message or reason)
    if status == 403:  # the signed URL expired with its session
        return DavError(404, "upload session expired")
    return DavError(502, f"data server answered {status} {reason} {message}".strip())


async def finish(dav: Dav, request: pb.FinishUploadSessionRequest) -> pb.FinishUploadSessionResponse:
    return await dav.gw.call("FinishUploadSession", request, timeout=FINISH_TIMEOUT)


def committed(info: pb.ResourceInfo, mtime_applied: bool) -> dict[str, str]:
    """The headers of a final answer: what sync clients record about the file they uploaded."""
    etag = f'"{info.etag}"'
    headers = {"ETag": etag, "OC-ETag": etag, "OC-FileId": info.id, "OC-Perm": info.permissions}
    if mtime_applied:
        headers["X-OC-MTime"] = "accepted"
    return headers
