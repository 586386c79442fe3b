"""COPY and MOVE: Destination, Overwrite, Depth; 201 new, 204 replaced.

The Destination may be a spaces URL; a move between spaces is the storage's to
refuse (cross-space, 502), as for `files/` into a share.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from .errors import DavError
from .request import Dav


def _overwrite(dav: Dav) -> bool:
    value = dav.request.headers.get("Overwrite", "T").strip().upper()
    if value not in ("T", "F"):
        raise DavError(400, "Overwrite must be T or F")
    return value == "T"


async def handle(dav: Dav) -> web.StreamResponse:
    move = dav.request.method == "MOVE"
    dest = dav.destination(502)
    if dav.path == "/":
        raise DavError(403, "the space root cannot be moved or copied")
    if dav.ref_of(dest) == dav.ref():
        raise DavError(403, "source and destination are the same")
    overwrite = _overwrite(dav)
    common: dict[str, Any] = {
        "source": dav.ref(),
        "destination": dav.ref_of(dest),
        "overwrite": overwrite,
        "lock_tokens": dav.lock_tokens(),
        "mtime_ns": dav.mtime_ns(),
    }
    overrides = {"exists": 412}
    if move:
        dav.depth("infinity", ("infinity",))
        reply = await dav.gw.call("Move", pb.MoveRequest(**common), overrides)
    else:
        shallow = dav.depth("infinity", ("0", "infinity")) == "0"
        reply = await dav.gw.call("Copy", pb.CopyRequest(shallow=shallow, **common), overrides)
    etag = f'"{reply.info.etag}"'
    headers = {"OC-FileId": reply.info.id, "ETag": etag, "OC-ETag": etag, "OC-Perm": reply.info.permissions}
    if dav.request.headers.get("X-OC-Mtime"):
        headers["X-OC-MTime"] = "accepted"
    return web.Response(status=204 if reply.overwritten else 201, headers=headers)
