"""Legacy (v1) chunked uploads: `PUT <name>-chunking-<transfer>-<count>-<index>` with `OC-Chunked: 1`.

Older clients and libraries (pyocclient, old mobile apps) send a big file as
numbered chunks to names beside it. Each transfer gathers its chunks in an
upload session in storage (one per user, file and transfer id: pyocclient's
transfer ids are the upload's second), so they survive restarts and expire
with the other sessions. Every chunk but the one completing the set answers
201 without an ETag; that one finishes the session: the file appears whole,
its `OC-Checksum` verified and `X-OC-Mtime` applied, and the answer is that of
an ordinary PUT. Conditions (`If-Match`, `If`, lock tokens) apply to the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import paths, uploads
from .errors import DavError
from .paths import DavPath
from .put import preconditions
from .request import Dav

# As reva matches them: the transfer id is a word, count and index are numbers.
CHUNK_NAME = re.compile(r"(?P<name>.+)-chunking-(?P<transfer>\w+)-(?P<count>\d{1,9})-(?P<index>\d{1,9})", re.ASCII)
MAX_CHUNKS = 100_000
KIND = "legacy-chunking"


@dataclass(frozen=True)
class Chunk:
    file: DavPath  # the file the chunks make up
    transfer: str
    count: int
    index: int

    @property
    def session(self) -> str:
        """The session's name: one per file and transfer (the session is the caller's)."""
        key = f"{self.file.path}\0{self.transfer}".encode()
        return "v1-" + hashlib.sha256(key).hexdigest()[:40]


def stored_name(index: int) -> str:
    """A chunk's name in the session: index order is name order, and it does not read as an offset."""
    return f"i{index:09d}"


def parse(request: web.Request) -> Chunk | None:
    """The chunk a PUT carries, None for an ordinary PUT (a `-chunking-` name without `OC-Chunked` is a name)."""
    if request.method != "PUT" or not request.headers.get("OC-Chunked", "").strip():
        return None
    where = paths.parse(request.raw_path)
    parent, _, last = where.path.rpartition("/")
    match = CHUNK_NAME.fullmatch(last)
    if match is None:
        raise DavError(400, "OC-Chunked needs a name <file>-chunking-<transfer>-<count>-<index>")
    count, index = int(match["count"]), int(match["index"])
    if not 0 < count <= MAX_CHUNKS:
        raise DavError(400, f"the chunk count must be between 1 and {MAX_CHUNKS}")
    if index >= count:
        raise DavError(400, f"chunk index {index} but only {count} chunks")
    file = DavPath(where.base, where.user, paths.join(parent or "/", match["name"]))
    return Chunk(file, match["transfer"], count, index)


async def _session(dav: Dav, chunk: Chunk) -> pb.UploadSession:
    """The transfer's open session; a new one for a first chunk, or when a finished one had this name."""
    get = pb.GetUploadSessionRequest(session_id=chunk.session)
    try:
        session: pb.UploadSession = await dav.gw.call("GetUploadSession", get)
        if not session.finished:
            return session
        # The same file and transfer id again (pyocclient: in the same second): a new upload.
        await dav.gw.call("DeleteUploadSession", pb.DeleteUploadSessionRequest(session_id=chunk.session))
    except DavError as exc:
        if exc.status != 404:
            raise
    if_match, if_none_match = await preconditions(dav)
    create = pb.CreateUploadSessionRequest(
        ref=dav.ref(),
        name=chunk.session,
        length=-1,
        checksum=dav.request.headers.get("OC-Checksum", ""),
        mtime_ns=dav.mtime_ns(),
        if_match=if_match,
        if_none_match=if_none_match,
        lock_tokens=dav.lock_tokens(),
        metadata={"kind": KIND, "chunks": str(chunk.count)},
    )
    try:
        return await dav.gw.call("CreateUploadSession", create)
    except DavError as exc:
        if exc.status != 405:  # ALREADY_EXISTS: the session, nothing else a create refuses
            raise
        return await dav.gw.call("GetUploadSession", get)  # another chunk of the transfer created it


async def put(dav: Dav) -> web.StreamResponse:
    chunk = parse(dav.request)
    assert chunk is not None  # routed here by `parse`
    session = await _session(dav, chunk)
    if session.metadata.get("chunks") != str(chunk.count):
        raise DavError(400, f"transfer {chunk.transfer} has {session.metadata.get('chunks')} chunks, not {chunk.count}")
    await uploads.send(dav, "PUT", f"{session.data_url}/{stored_name(chunk.index)}", {})
    session = await dav.gw.call("GetUploadSession", pb.GetUploadSessionRequest(session_id=session.id))
    if session.finished:  # a concurrent chunk completed it
        return web.Response(status=201)
    if {c.name for c in session.chunks} != {stored_name(i) for i in range(chunk.count)}:
        return web.Response(status=201)  # more to come
    if_match, if_none_match = await preconditions(dav)
    request = pb.FinishUploadSessionRequest(
        session_id=session.id,
        ref=dav.ref(),
        checksum=dav.request.headers.get("OC-Checksum", ""),
        mtime_ns=dav.mtime_ns(),
        if_match=if_match,
        if_none_match=if_none_match,
        lock_tokens=dav.lock_tokens(),
    )
    reply = await uploads.finish(dav, request)
    mtime_applied = bool(request.mtime_ns or session.mtime_ns)
    return web.Response(status=201 if reply.created else 204, headers=uploads.committed(reply.info, mtime_applied))
