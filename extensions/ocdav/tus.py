"""TUS 1.0.0 (creation, creation-with-upload, termination) for uploads into the WebDAV tree.

`POST` on a folder of /remote.php/dav/files/{user}/ creates a session in storage and
answers its `Location`, /remote.php/dav/uploads/{user}/{id}, where `HEAD` tells the
durable offset, `PATCH` appends and `DELETE` terminates. The PATCH (or POST) that
completes the upload commits the file and answers with its ETag, OC-FileId and OC-Perm.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import home_space_id, split_session_id

from . import paths, uploads, xml
from .errors import DavError
from .request import Dav

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination"
OFFSET_TYPE = "application/offset+octet-stream"


def headers(max_size: int) -> dict[str, str]:
    """What OPTIONS advertises about TUS."""
    return {**uploads.RESUMABLE, "Tus-Version": VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(max_size)}


def parse_metadata(header: str) -> dict[str, str]:
    """`Upload-Metadata: key b64value,key2 b64value2` (a value may be absent)."""
    out: dict[str, str] = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise DavError(400, f"Upload-Metadata {key}: not base64 of UTF-8") from None
    return out


def _checksum(value: str) -> str:
    """TUS clients send "SHA1 <hex>"; storage takes "SHA1:<hex>"."""
    algo, _, digest = value.strip().partition(" ")
    return f"{algo}:{digest.strip()}" if digest else value.strip()


def _offset(dav: Dav, header: str) -> int:
    value = dav.request.headers.get(header, "").strip()
    if not value.isdigit():
        raise DavError(400, f"{header} must be a byte count")
    return int(value)


def _location(dav: Dav, session: pb.UploadSession) -> str:
    """The absolute URL of the session as the client reached us (behind the proxy: X-Forwarded-*)."""
    proto = dav.request.headers.get("X-Forwarded-Proto", dav.request.scheme)
    host = dav.request.headers.get("X-Forwarded-Host", dav.request.host)
    user = dav.target.user or dav.who.username
    # A session in another space (an upload into a share, kept in the owner's) is named by its full id.
    home = split_session_id(session.id)[0] == home_space_id(dav.who.user_id)
    return f"{proto}://{host}{paths.href(uploads.PREFIX + user, '/' + (session.name if home else session.id), False)}"


def _progress(session: pb.UploadSession, offset: int) -> dict[str, str]:
    out = {**uploads.RESUMABLE, "Upload-Offset": str(offset), "Cache-Control": "no-store"}
    if session.length >= 0:
        out["Upload-Length"] = str(session.length)
    if session.expires:
        out["Upload-Expires"] = xml.http_date(session.expires)
    return out


async def _append(dav: Dav, session: pb.UploadSession, offset: int) -> dict[str, str]:
    """Send the body at `offset`; when it completes the upload, commit and add the file's headers."""
    if dav.request.headers.get("Content-Type", "").split(";")[0].strip().lower() != OFFSET_TYPE:
        raise DavError(415, f"Content-Type must be {OFFSET_TYPE}")
    sent = await uploads.send(dav, "PATCH", session.data_url, {"Upload-Offset": str(offset)})
    reached = int(sent["offset"] or offset)
    return await _complete(dav, session, reached)


async def _complete(dav: Dav, session: pb.UploadSession, offset: int) -> dict[str, str]:
    out = _progress(session, offset)
    if offset == session.length:
        request = pb.FinishUploadSessionRequest(session_id=session.id, mtime_ns=dav.mtime_ns())
        reply = await uploads.finish(dav, request)
        out.update(uploads.committed(reply.info, bool(request.mtime_ns or session.mtime_ns)))
    return out


async def options(dav: Dav) -> web.StreamResponse:
    return web.Response(status=204, headers=headers(dav.config.tus_max_size))


async def create(dav: Dav) -> web.StreamResponse:
    """POST on a folder: a new upload of `Upload-Length` bytes named by the `filename` metadata."""
    if not dav.request.headers.get("Tus-Resumable"):
        raise DavError(405, "POST is for TUS uploads (Tus-Resumable missing)", headers={"Allow": "OPTIONS, PROPFIND"})
    length = _offset(dav, "Upload-Length")
    if length > dav.config.tus_max_size:
        raise DavError(413, f"Upload-Length above Tus-Max-Size {dav.config.tus_max_size}")
    meta = parse_metadata(dav.request.headers.get("Upload-Metadata", ""))
    if not meta.get("filename"):
        raise DavError(400, "Upload-Metadata needs a filename")
    # ownCloud clients name the path below the DAV root in `filename`; others put the folder in `dir`.
    folder = paths.join(dav.path, meta.get("dir", "").strip("/"))
    target = paths.normalise(paths.join(folder, meta["filename"].lstrip("/")))
    if_match = dav.request.headers.get("If-Match", "").strip()
    request = pb.CreateUploadSessionRequest(
        ref=dav.ref(target),
        length=length,
        checksum=_checksum(meta.get("checksum", "")),
        mtime_ns=dav.mtime_ns(),
        if_match="" if if_match == "*" else if_match.removeprefix("W/").strip('"'),
        if_none_match=dav.request.headers.get("If-None-Match", "").strip() == "*",
        lock_tokens=dav.lock_tokens(),
        metadata=meta,
    )
    session = await dav.gw.call("CreateUploadSession", request)
    has_body = bool(dav.request.content_length) or dav.request.headers.get("Transfer-Encoding", "") == "chunked"
    out = await _append(dav, session, 0) if has_body else await _complete(dav, session, 0)
    return web.Response(status=201, headers={**out, "Location": _location(dav, session)})


async def head(dav: Dav) -> web.StreamResponse:
    session = await uploads.get_session(dav)
    offset = session.length if session.finished else session.offset
    return web.Response(status=200, headers=_progress(session, offset))


async def patch(dav: Dav) -> web.StreamResponse:
    offset = _offset(dav, "Upload-Offset")
    session = await uploads.get_session(dav)
    if session.finished:  # a retry of the PATCH that completed it: answer as then
        if offset != session.length:
            raise DavError(409, "the upload is complete", headers=_progress(session, session.length))
        return web.Response(
            status=204, headers={**_progress(session, offset), **uploads.committed(session.info, session.mtime_ns != 0)}
        )
    if offset != session.offset:
        raise DavError(
            409,
            f"Upload-Offset {offset} but the upload is at {session.offset}",
            headers=_progress(session, session.offset),
        )
    return web.Response(status=204, headers=await _append(dav, session, offset))
