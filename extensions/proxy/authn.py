"""Authentication at the front door: the one hook the proxy calls for every routed request.

    await Authenticator.authenticate(request, route, client_ip) -> Outcome

is awaited once per request after routing and the firewall, before the request
body is read or sent upstream. It returns either `Outcome(headers={...})`
(forward, adding these headers) or `Outcome(response=...)` (answer the
client; the upstream never sees the request). `strip` names client headers
that never reach an upstream as sent: a client cannot forge the internal token.

- `Authorization: Basic` goes to auth-basic (with the client IP, for
  throttling), `Bearer` to auth-bearer (issuer JWTs and app tokens); either
  answers with an internal token, forwarded as `X-Access-Token`. The proxy
  calls them with its service token: they answer extensions only.
- A throttled client gets 429 with `Retry-After` (auth-basic's
  RESOURCE_EXHAUSTED with `retry-after` trailing metadata).
- Wrong or malformed credentials get 401 on every route, public ones included.
- Without credentials a public route is forwarded as is; a protected one gets
  401 with Basic and Bearer challenges, except XHR requests (`X-Requested-With`),
  which get no Basic challenge, so browsers show no login dialog loop.
- Public link routes (links.py) authenticate the link instead: its token and password go to
  storage-publiclink, and the link's scoped internal token is forwarded (never the password).
- A verified `Authorization` value is reused for `cache_ttl` (keyed by an HMAC,
  never stored as sent) and forgotten at once when the user changes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

import grpc
import grpc.aio
from aiohttp import web
from multidict import CIMultiDict

from ocisd import client_address, identity, sessions
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc
from ocisd.authz import acting_as, is_public
from ocisd.bus.messages import Message
from ocisd.extension import Context

from . import links
from .routes import Route

ACCESS_TOKEN = identity.HTTP_HEADER
REALM = "ocisd"
BASIC_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
BEARER_CHALLENGE = f'Bearer realm="{REALM}"'
CACHE_SIZE = 10_000
# Open without credentials: the status probe, the web UI's root page and static assets, the hello example.
PUBLIC_ROUTES = [
    "/status.php",
    "/status",
    "/",
    "/index.html",
    "/favicon.ico",
    "/manifest.json",
    "/config.json",
    "/js/",
    "/css/",
    "/fonts/",
    "/icons/",
    "/img/",
    "/themes/",
    "/hello",
    "/hello/",
    "/api/v0/greet",
    "/graph-explorer",
    "/graph-explorer/",
    "/.well-known/",
    "/konnect/",
    "/signin/",
]


# Routes that read Authorization themselves (idp: client credentials at the token endpoint, its own tokens at
# userinfo): forwarded as public without the proxy checking the header as a user's credentials.
OWN_AUTHORIZATION = ("/konnect/",)


@dataclass(frozen=True)
class Outcome:
    headers: dict[str, str] = field(default_factory=dict)
    response: web.StreamResponse | None = None
    strip: tuple[str, ...] = (ACCESS_TOKEN,)


def matches_public(path: str, public: Sequence[str]) -> bool:
    """`/` and entries without a trailing slash match exactly; other entries ending in `/` match below them."""
    exact = [p for p in public if p == "/" or not p.endswith("/")]
    below = [p for p in public if p != "/" and p.endswith("/")]
    return path in exact or is_public(path, below)


class Refusal(Exception):
    def __init__(self, status: int, reason: str, retry_after: str = "", bearer_error: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after
        self.bearer_error = bearer_error


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(401, "malformed Basic credentials") from None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # pre-RFC 7617 clients send ISO-8859-1
    username, sep, password = text.partition(":")
    if not sep or not username:
        raise Refusal(401, "malformed Basic credentials")
    return username, password


class Authenticator:
    def __init__(self, ctx: Context, public: Sequence[str], cache_ttl: float) -> None:
        self._basic = ctx.rpc.stub("auth-basic", auth_pb2_grpc.AuthBasicStub)
        self._links = links.LinkGate(ctx, min(cache_ttl, identity.DEFAULT_TTL / 2))
        self._bearer = ctx.rpc.stub("auth-bearer", auth_pb2_grpc.AuthBearerStub)
        self._public = tuple(public)
        self._log = ctx.log
        self._service = identity.ServiceToken(ctx.shared.jwt_secret, ctx.name)
        self._addresses = client_address.Signer(ctx.shared.jwt_secret)
        # The internal token is reused at most for half its lifetime.
        self._ttl = min(cache_ttl, identity.DEFAULT_TTL / 2)
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[float, str, str]] = {}  # digest -> (expires, user id, internal token)
        self._in_flight: dict[bytes, asyncio.Future[str]] = {}
        ctx.bus.subscribe(f"event.{sessions.USERS_CHANGED}", self._on_user_changed)

    def _on_user_changed(self, msg: Message) -> None:
        user_id = msg.data.get("user_id")
        self._cache = {k: v for k, v in self._cache.items() if v[1] != user_id}

    async def authenticate(self, request: web.BaseRequest, route: Route, client_ip: str) -> Outcome:
        if links.is_link_path(request.path):
            return await self._link(request, client_ip)
        authorization = request.headers.get("Authorization", "")
        if not authorization or is_public(request.path, OWN_AUTHORIZATION):
            if matches_public(request.path, self._public):
                return self._signed_address(client_ip)
            return self._refuse(request, Refusal(401, "authentication required"))
        digest = hmac.new(self._key, authorization.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return Outcome(headers={ACCESS_TOKEN: cached[2]})
        # One verification per credential and address at a time: a sync client opening many connections
        # at once waits for one argon2 run, and a client hanging up does not waste it (the cache still fills).
        # The address is part of the key: one address's throttling never answers another's request.
        key = digest + client_ip.encode()
        flight = self._in_flight.get(key)
        if flight is None:
            flight = self._in_flight[key] = asyncio.ensure_future(self._verify(digest, authorization, client_ip))
            flight.add_done_callback(lambda f: (self._in_flight.pop(key, None), f.cancelled() or f.exception()))
        try:
            token = await asyncio.shield(flight)
        except Refusal as refusal:
            return self._refuse(request, refusal)
        return Outcome(headers={ACCESS_TOKEN: token})

    def _signed_address(self, client_ip: str) -> Outcome:
        """A public route passes with the client's address, signed (its throttles key on it)."""
        signed = self._addresses.sign(client_ip)
        return Outcome(headers={client_address.HEADER: signed}, strip=(ACCESS_TOKEN, client_address.HEADER))

    async def _link(self, request: web.BaseRequest, client_ip: str) -> Outcome:
        """A public link request: the landing page passes with the client address, WebDAV needs the link."""
        if request.path.startswith(links.LANDING):
            return self._signed_address(client_ip)
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        try:
            basic = _basic_credentials(value) if scheme.lower() == "basic" else None
            token, password = links.link_credentials(request, basic)
            access = await self._links.access_token(token, password, client_ip)
        except Refusal as refusal:
            return self._refuse(request, refusal)
        except links.LinkRefused as refused:
            return self._refuse(request, Refusal(refused.status, str(refused), refused.retry_after))
        return Outcome(headers={ACCESS_TOKEN: access}, strip=(ACCESS_TOKEN, "Authorization"))

    async def _verify(self, digest: bytes, authorization: str, client_ip: str) -> str:
        """The internal token for `authorization` (cached), or Refusal."""
        response = await self._ask(authorization, client_ip)
        if self._ttl > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[digest] = (time.monotonic() + self._ttl, response.user.id, response.token)
        return response.token

    async def _ask(self, authorization: str, client_ip: str) -> auth_pb2.AuthResponse:
        scheme, _, value = authorization.partition(" ")
        try:
            with acting_as(self._service.get()):
                if scheme.lower() == "basic":
                    username, password = _basic_credentials(value)
                    request = auth_pb2.BasicRequest(username=username, password=password, client_ip=client_ip)
                    response: auth_pb2.AuthResponse = await self._basic.Authenticate(request)
                elif scheme.lower() == "bearer" and value.strip():
                    response = await self._bearer.Authenticate(auth_pb2.BearerRequest(token=value.strip()))
                else:
                    raise Refusal(401, "unsupported or malformed Authorization header")
        except grpc.aio.AioRpcError as exc:
            raise self._refusal_of(exc, bearer=scheme.lower() == "bearer") from None
        return response

    def _refusal_of(self, exc: grpc.aio.AioRpcError, bearer: bool) -> Refusal:
        code = exc.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return Refusal(401, "invalid credentials", bearer_error=bearer)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            retry = next((str(v) for k, v in exc.trailing_metadata() or () if k == "retry-after"), "60")
            return Refusal(429, "too many failed logins", retry_after=retry)
        self._log.warning("authentication unavailable", code=code.name, details=exc.details() or "")
        return Refusal(503, "authentication is unavailable", retry_after="5")

    def _refuse(self, request: web.BaseRequest, refusal: Refusal) -> Outcome:
        headers: CIMultiDict[str] = CIMultiDict()
        if refusal.status == 401:
            # XHR callers get no Basic challenge: a browser would pop up its login dialog again and again.
            if not request.headers.get("X-Requested-With"):
                headers.add("WWW-Authenticate", BASIC_CHALLENGE)
            bearer = BEARER_CHALLENGE + (', error="invalid_token"' if refusal.bearer_error else "")
            headers.add("WWW-Authenticate", bearer)
        if refusal.retry_after:
            headers["Retry-After"] = refusal.retry_after
        text = f"{refusal.status} {HTTPStatus(refusal.status).phrase}: {refusal}\n"
        return Outcome(response=web.Response(status=refusal.status, text=text, headers=headers))
