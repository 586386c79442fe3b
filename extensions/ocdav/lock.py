"""LOCK (new lock or refresh) and UNLOCK; the `If` header itself is evaluated for every method."""

from __future__ import annotations

import re

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import xml
from .errors import DavError
from .paths import href, in_space
from .request import Dav
from .resource import lock_from_pb

INFINITE = -1
_SECONDS = re.compile(r"^second-(\d+)$", re.IGNORECASE)


def parse_timeout(header: str) -> int:
    """The first usable value of `Timeout: Second-N, Infinite`; 0 = server default, -1 = infinite."""
    for part in header.split(","):
        value = part.strip()
        if value.lower() == "infinite":
            return INFINITE
        m = _SECONDS.match(value)
        if m:
            return max(1, min(int(m.group(1)), 2**31))
    return 0


def _answer(dav: Dav, reply: pb.LockResponse, status: int, new: bool) -> web.Response:
    lock = lock_from_pb(reply.lock)
    is_dir = reply.info.type == pb.RESOURCE_TYPE_CONTAINER
    root = href(dav.target.base, in_space(dav.target.space, reply.lock.root_path or dav.path), is_dir)
    timeout = reply.lock.timeout_seconds or None
    active = xml.activelock(lock.token, root, lock.scope, lock.depth, lock.owner, timeout)
    headers = {"Content-Type": xml.CONTENT_TYPE}
    if new:
        headers["Lock-Token"] = f"<{lock.token}>"
    body = xml.prop_document(f"<d:lockdiscovery>{active}</d:lockdiscovery>")
    return web.Response(status=status, body=body, headers=headers)


async def _refresh(dav: Dav, timeout: int) -> web.Response:
    tokens = dav.lock_tokens()
    if not tokens:
        raise DavError(400, "a lock refresh needs the lock token in an If header")
    last: DavError | None = None
    for token in tokens:
        request = pb.RefreshLockRequest(ref=dav.ref(), token=token, timeout_seconds=timeout)
        try:
            reply = await dav.gw.call("RefreshLock", request, overrides={"lock-token-mismatch": 412})
        except DavError as exc:
            last = exc
            continue
        return _answer(dav, reply, 200, new=False)
    assert last is not None
    raise last


async def handle_lock(dav: Dav) -> web.StreamResponse:
    timeout = parse_timeout(dav.request.headers.get("Timeout", ""))
    root = await dav.xml_body()
    if root is None:
        return await _refresh(dav, timeout)
    info = xml.parse_lockinfo(root)
    depth = dav.depth("infinity", ("0", "infinity"))
    request = pb.LockRequest(
        ref=dav.ref(),
        scope=pb.LOCK_SCOPE_SHARED if info.scope == "shared" else pb.LOCK_SCOPE_EXCLUSIVE,
        depth_infinity=depth == "infinity",
        owner=info.owner,
        timeout_seconds=timeout,
        lock_tokens=dav.lock_tokens(),
    )
    reply = await dav.gw.call("Lock", request)
    return _answer(dav, reply, 201 if reply.created else 200, new=True)


async def handle_unlock(dav: Dav) -> web.StreamResponse:
    token = dav.request.headers.get("Lock-Token", "").strip()
    if not (token.startswith("<") and token.endswith(">")) or len(token) < 3:
        raise DavError(400, "UNLOCK needs a Lock-Token header like <opaquelocktoken:...>")
    request = pb.UnlockRequest(ref=dav.ref(), token=token[1:-1])
    try:
        await dav.gw.call("Unlock", request)
    except DavError as exc:
        if exc.status == 409:
            raise DavError(409, exc.message, "<d:lock-token-matches-request-uri/>") from None
        raise
    return web.Response(status=204)
