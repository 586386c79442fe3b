"""Chunking NG (ownCloud desktop clients): named chunks in an upload folder, assembled by a MOVE of `.file`.

MKCOL uploads/{user}/{id} opens a session in storage, PUT uploads/{user}/{id}/{offset:016d}
stores one chunk (any order, in parallel), PROPFIND lists the stored chunks so an
interrupted client can resume, MOVE uploads/{user}/{id}/.file assembles them into the
Destination (total length and checksum verified) and DELETE aborts.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import props, uploads, xml
from .errors import DavError
from .request import Dav
from .resource import Resource

ASSEMBLE = ".file"


def _segments(dav: Dav, count: int, what: str) -> list[str]:
    parts = dav.path.strip("/").split("/") if dav.path != "/" else []
    if len(parts) != count:
        raise DavError(405 if len(parts) < count else 409, f"{dav.request.method} needs {what}")
    return parts


def _length(dav: Dav, header: str) -> int | None:
    value = dav.request.headers.get(header, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise DavError(400, f"{header} must be a byte count")
    return int(value)


async def mkcol(dav: Dav) -> web.StreamResponse:
    (name,) = _segments(dav, 1, "an upload folder uploads/{user}/{transfer-id}")
    length = _length(dav, "OC-Total-Length")
    request = pb.CreateUploadSessionRequest(ref=pb.Reference(), name=name, length=-1 if length is None else length)
    await dav.gw.call("CreateUploadSession", request, overrides={"exists": 405, "bad-session-id": 400})
    return web.Response(status=201)


async def put_chunk(dav: Dav) -> web.StreamResponse:
    _, chunk = _segments(dav, 2, "a chunk uploads/{user}/{transfer-id}/{offset}")
    offset = _length(dav, "OC-Chunk-Offset")
    if offset is not None and chunk.isdigit() and int(chunk) != offset:
        raise DavError(400, "OC-Chunk-Offset differs from the chunk's name")
    session = await uploads.get_session(dav)
    if session.finished:
        raise DavError(409, "the upload was already assembled")
    sent = await uploads.send(dav, "PUT", f"{session.data_url}/{chunk}", {})
    return web.Response(status=201 if sent["status"] == 201 else 204)


def _folder(session: pb.UploadSession) -> Resource:
    """The upload folder as a collection; its etag changes with every chunk stored."""
    listing = ",".join(f"{c.name}:{c.size}" for c in session.chunks)
    digest = hashlib.sha1(f"{session.id}|{session.offset}|{session.finished}|{listing}".encode()).hexdigest()
    size = sum(c.size for c in session.chunks) or session.offset
    return Resource(path="/" + session.name, is_dir=True, size=size, mtime=session.created, etag=digest, id=session.id)


def _chunk(session: pb.UploadSession, chunk: pb.UploadChunk) -> Resource:
    etag = hashlib.sha1(f"{session.id}/{chunk.name}:{chunk.size}:{chunk.mtime_ns}".encode()).hexdigest()
    return Resource(
        path=f"/{session.name}/{chunk.name}",
        is_dir=False,
        size=chunk.size,
        mtime=chunk.mtime_ns / 1e9,
        etag=etag,
        id=f"{session.id}/{chunk.name}",
    )


async def propfind(dav: Dav) -> web.StreamResponse:
    depth = dav.depth("1", ("0", "1"))
    req = xml.parse_propfind(await dav.xml_body())
    renderer = props.Renderer(req, props.View(dav.target.base, dav.who.display_name or dav.who.username))
    parts = dav.path.strip("/").split("/") if dav.path != "/" else []
    found: list[Resource]
    if not parts:  # the user's uploads folder: one collection per open session
        reply = await dav.gw.call("ListUploadSessions", pb.ListUploadSessionsRequest(ref=pb.Reference()))
        root = Resource(path="/", is_dir=True, etag=hashlib.sha1(repr(reply.sessions).encode()).hexdigest())
        found = [root] + ([_folder(s) for s in reply.sessions] if depth == "1" else [])
    else:
        session = await uploads.get_session(dav)
        if len(parts) == 1:
            found = [_folder(session)] + ([_chunk(session, c) for c in session.chunks] if depth == "1" else [])
        else:
            found = [_chunk(session, c) for c in session.chunks if c.name == parts[1] and len(parts) == 2]
            if not found:
                raise DavError(404, "no such chunk")
    body = xml.multistatus(renderer.render(res) for res in found)
    return web.Response(status=207, body=body, headers={"Content-Type": xml.CONTENT_TYPE})


def _if_etag(dav: Dav) -> str:
    """The etag the target must still have: `If-Match`, else the first etag in the `If` header."""
    value = dav.request.headers.get("If-Match", "").strip()
    if not value:
        etags = [c.etag for lst in dav.if_lists for c in lst.conditions if c.etag and not c.negate]
        value = etags[0] if etags else ""
    return "" if value == "*" else value.removeprefix("W/").strip('"')


async def assemble(dav: Dav) -> web.StreamResponse:
    name, last = _segments(dav, 2, "uploads/{user}/{transfer-id}/.file")
    if last != ASSEMBLE:
        raise DavError(403, "only .file can be moved out of an upload folder")
    dest = dav.destination(403)
    request = pb.FinishUploadSessionRequest(
        session_id=name,
        ref=dav.ref_of(dest),
        checksum=dav.request.headers.get("OC-Checksum", ""),
        mtime_ns=dav.mtime_ns(),
        if_match=_if_etag(dav),
        if_none_match=dav.request.headers.get("Overwrite", "T").strip().upper() == "F",
        lock_tokens=dav.lock_tokens(),
    )
    length = _length(dav, "OC-Total-Length")
    if length is None:
        length = _length(dav, "OC-Total-File-Length")
    if length is not None:
        request.length = length
    reply = await uploads.finish(dav, request)
    return web.Response(
        status=201 if reply.created else 204, headers=uploads.committed(reply.info, request.mtime_ns != 0)
    )
