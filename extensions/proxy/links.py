"""Public links at the front door: their routes authenticate through storage-publiclink.

    /remote.php/dav/public-files/<token>/...  Basic `public:<password>`, or nothing for a link without one
    /public.php/webdav/...                     legacy: Basic `<token>:<password>` (empty password: none)
    /s/<token>                                 the landing page: passed on as is, with the client address
                                               (the page posts its password form to ocdav, which asks
                                               storage-publiclink itself)

A link that answers forwards the request with an internal token scoped to the
link's resource and permissions. Unknown, expired and removed links get 404;
a missing or wrong password 401 with a Basic challenge; a throttled client 429.
A verified (token, password) is reused for a short while and forgotten at once
when the sharing service reports the link changed or removed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import grpc
import grpc.aio
from aiohttp import web

from ocisd import identity
from ocisd.api.sharing.v1 import contract, sharing_pb2, sharing_pb2_grpc
from ocisd.api.sharing.v1.links import LANDING, LEGACY, PUBLIC_FILES
from ocisd.authz import acting_as
from ocisd.bus.messages import Message
from ocisd.extension import Context

CACHE_SIZE = 10_000
SHARE_EVENTS = tuple(f"event.{e}" for e in (contract.SHARE_REMOVED, contract.SHARE_UPDATED))


class LinkRefused(Exception):
    def __init__(self, status: int, reason: str, retry_after: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


def is_link_path(path: str) -> bool:
    return path.startswith((PUBLIC_FILES, LANDING)) or path == LEGACY or path.startswith(LEGACY + "/")


def token_of(path: str) -> str:
    """The token a public-files or landing path names ("" when it names none)."""
    prefix = PUBLIC_FILES if path.startswith(PUBLIC_FILES) else LANDING
    return path[len(prefix) :].partition("/")[0]


class LinkGate:
    def __init__(self, ctx: Context, cache_ttl: float) -> None:
        self._links = ctx.rpc.stub("storage-publiclink", sharing_pb2_grpc.PublicLinksStub)
        self._service = identity.ServiceToken(ctx.shared.jwt_secret, ctx.name)
        self._log = ctx.log
        self._ttl = cache_ttl
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[float, str, str]] = {}  # digest -> (expires, share id, internal token)
        for topic in SHARE_EVENTS:
            ctx.bus.subscribe(topic, self._on_share_changed)

    def _on_share_changed(self, msg: Message) -> None:
        share_id = msg.data.get("id")
        if isinstance(share_id, str):
            self._cache = {k: v for k, v in self._cache.items() if v[1] != share_id}

    async def access_token(self, token: str, password: str, client_ip: str) -> str:
        """The scoped internal token for a link, or LinkRefused."""
        digest = hmac.new(self._key, f"{token}\0{password}".encode("utf-8", "surrogateescape"), hashlib.sha256)
        key = digest.digest()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[2]
        try:
            with acting_as(self._service.get()):
                request = sharing_pb2.AuthenticateLinkRequest(token=token, password=password, client_ip=client_ip)
                reply: sharing_pb2.AuthenticateLinkResponse = await self._links.Authenticate(request)
        except grpc.aio.AioRpcError as exc:
            raise self._refusal_of(exc) from None
        # Reused for at most half the internal token's life, and never past the link's expiry.
        now = time.time()
        ttl = min(self._ttl, (reply.expires - now) / 2, (reply.share.expires or now + self._ttl) - now)
        if ttl > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (time.monotonic() + ttl, reply.share.id, reply.access_token)
        return reply.access_token

    def _refusal_of(self, exc: grpc.aio.AioRpcError) -> LinkRefused:
        code = exc.code()
        if code == grpc.StatusCode.NOT_FOUND:
            return LinkRefused(404, "no such public link")
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return LinkRefused(401, "public link password missing or wrong")
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            retry = next((str(v) for k, v in exc.trailing_metadata() or () if k == "retry-after"), "60")
            return LinkRefused(429, "too many failed attempts", retry_after=retry)
        self._log.warning("public link authentication unavailable", code=code.name, details=exc.details() or "")
        return LinkRefused(503, "public links are unavailable", retry_after="5")


def link_credentials(request: web.BaseRequest, basic: tuple[str, str] | None) -> tuple[str, str]:
    """(token, password) of a public-files or legacy request, given its Basic credentials if any."""
    if request.path.startswith(PUBLIC_FILES):
        token = token_of(request.path)
        if not token:
            raise LinkRefused(404, "no public link token in the path")
        return token, basic[1] if basic else ""
    if basic is None:
        raise LinkRefused(401, "the legacy public link WebDAV needs Basic <token>:<password>")
    return basic
