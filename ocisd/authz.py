"""Every extension's doors check the internal token: an aiohttp middleware and a gRPC interceptor.

`Context.serve_http` and `Context.serve_grpc` install them. A request with a
valid `X-Access-Token` (HTTP) or `x-access-token` metadata (gRPC) runs with
`identity.CURRENT` set and the token in `rpc.client.ACCESS_TOKEN`, so calls it
makes downstream carry the same identity. A request without one is refused
(401 / UNAUTHENTICATED) unless its path or method is declared public; a token
that is present but invalid is refused everywhere. So reaching an extension
around the proxy buys nothing.
"""

from __future__ import annotations

import base64
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd import identity
from ocisd.config.shared import SharedConfig
from ocisd.identity import Identity, InvalidToken
from ocisd.rpc.client import ACCESS_TOKEN, REQUEST_ID

# Always public: load balancers and `ocis <name> health` probe it without a token.
PUBLIC_GRPC = ("/grpc.health.v1.Health/",)
ALL = ("/",)  # `public=ALL`: every path, e.g. for the proxy, which authenticates on its own
SYSTEM_USERNAME = "system"


def is_public(path: str, public: Sequence[str]) -> bool:
    """`/a/` matches everything below it; `/a` matches `/a` itself and everything below `/a/`."""
    return any(path == p or path.startswith(p if p.endswith("/") else p + "/") for p in public)


class acting_as:
    """`with acting_as(token, who):` runs the block as `who`, sending `token` on downstream calls.

    A plain class, not a generator context manager: it wraps every request and call.
    """

    __slots__ = ("_token", "_who", "_resets")

    def __init__(self, token: str, who: Identity | None = None) -> None:
        self._token = token
        self._who = who

    def __enter__(self) -> None:
        self._resets = (identity.CURRENT.set(self._who), ACCESS_TOKEN.set(self._token))

    def __exit__(self, *exc: object) -> None:
        ident, access = self._resets
        ACCESS_TOKEN.reset(access)
        identity.CURRENT.reset(ident)


def system_identity(shared: SharedConfig) -> Identity:
    """The identity internal services use for calls of their own (not on a user's behalf)."""
    return Identity(user_id=shared.system_user_id, username=SYSTEM_USERNAME)


def system_token(shared: SharedConfig) -> str:
    return identity.mint(shared.jwt_secret, system_identity(shared))


async def require_service(context: grpc.aio.ServicerContext) -> None:
    """Only extensions, with their service token, may call this method (a user's token is not enough)."""
    who = identity.CURRENT.get()
    if who is None or not who.service:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated: a service token is required")


def is_privileged(who: Identity | None, shared: SharedConfig) -> bool:
    """The admin user and the system identity may manage every account."""
    return who is not None and who.user_id in {shared.admin_user_id, shared.system_user_id} - {""}


class Verifier:
    """`identity.verify` with memory: a token seen before is not checked again until it expires.

    Sync clients send the same internal token (the proxy caches it) with every
    request; the key is the whole token, signature included, so nothing forged
    can hit the cache.
    """

    MAX_ENTRIES = 4096

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._seen: dict[str, tuple[float, Identity]] = {}

    def verify(self, token: str) -> Identity:
        hit = self._seen.get(token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        who = identity.verify(self._secret, token)
        if len(self._seen) >= self.MAX_ENTRIES:
            self._seen.clear()
        self._seen[token] = (_expiry(token), who)
        return who


def _expiry(token: str) -> float:
    """`exp` of a token that just passed verification (so the payload is well-formed JSON)."""
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def _unauthorized(reason: str) -> web.Response:
    return web.json_response({"error": f"unauthenticated: {reason}"}, status=401)


def http_guard(secret: str, public: Sequence[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """aiohttp middleware enforcing the internal token on every path not in `public`."""
    verifier = Verifier(secret)

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
        token = request.headers.get(identity.HTTP_HEADER, "")
        if not token:
            if is_public(request.path, public):
                return await handler(request)
            return _unauthorized(f"no {identity.HTTP_HEADER}; requests must come through the proxy")
        try:
            who = verifier.verify(token)
        except InvalidToken as exc:
            return _unauthorized(str(exc))
        # The proxy's request id goes on with downstream gRPC calls (instead of a fresh one per call).
        rid = REQUEST_ID.set(request.headers.get("X-Request-ID", ""))
        try:
            with acting_as(token, who):
                return await handler(request)
        finally:
            REQUEST_ID.reset(rid)

    return guard


Behavior = Callable[..., Any]


def _bind(behavior: Behavior, token: str, who: Identity) -> Behavior:
    """Wrap a servicer method so it runs as `who` (async generators stay generators)."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            with acting_as(token, who):
                async for item in behavior(request, context):
                    yield item

        return stream

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        with acting_as(token, who):
            return await behavior(request, context)

    return call


def _refuse(reason: str) -> Behavior:
    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"unauthenticated: {reason}")

    return refuse


def _rebuild(handler: grpc.RpcMethodHandler, change: Callable[[Behavior], Behavior]) -> grpc.RpcMethodHandler:
    kinds = {
        (False, False): (grpc.unary_unary_rpc_method_handler, handler.unary_unary),
        (False, True): (grpc.unary_stream_rpc_method_handler, handler.unary_stream),
        (True, False): (grpc.stream_unary_rpc_method_handler, handler.stream_unary),
        (True, True): (grpc.stream_stream_rpc_method_handler, handler.stream_stream),
    }
    make, behavior = kinds[(handler.request_streaming, handler.response_streaming)]
    return make(
        change(behavior),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class GrpcGuard(grpc.aio.ServerInterceptor):
    """gRPC server interceptor enforcing the internal token on every method not in `public`."""

    def __init__(self, secret: str, public: Sequence[str]) -> None:
        self._verifier = Verifier(secret)
        self._public = tuple(PUBLIC_GRPC) + tuple(public)
        # (method, token) -> (handler, the handler bound to the token's identity): built once, not per call.
        self._bound: dict[tuple[str, str], tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        token = next((str(v) for k, v in details.invocation_metadata or () if k == identity.GRPC_METADATA), "")
        if not token:
            if details.method.startswith(self._public):
                return handler
            return _rebuild(handler, lambda _: _refuse(f"no {identity.GRPC_METADATA} metadata"))
        try:
            who = self._verifier.verify(token)
        except InvalidToken as exc:
            reason = str(exc)
            return _rebuild(handler, lambda _: _refuse(reason))
        key = (details.method, token)
        hit = self._bound.get(key)
        if hit is not None and hit[0] is handler:
            return hit[1]
        bound = _rebuild(handler, lambda behavior: _bind(behavior, token, who))
        if len(self._bound) >= Verifier.MAX_ENTRIES:
            self._bound.clear()
        self._bound[key] = (handler, bound)
        return bound
