"""The front door's request handler: route, firewall, authenticate, forward, log.

Order per request: the client is identified (X-Forwarded-For only through a
trusted peer), the route is matched (longest prefix), the firewall decides
(403/429), then 404 without route, 503 without a live instance (after waiting for one), 413 for a body
over the route's limit, the authentication hook, and the forward.
"""

from __future__ import annotations

import asyncio
import traceback
from http import HTTPStatus

import aiohttp
from aiohttp import web

from ocisd.logs import get_logger

from . import authn, queries
from .accesslog import NO_ROUTE, TRACE, AccessLog, Trace
from .firewall import Firewall
from .forward import BodyTooLarge, Forwarder, UpstreamUnavailable, body_of
from .headers import Client, add_security_headers, client_of, request_id_of, upstream_request_headers
from .protocol import FrontProtocol
from .routes import Route, RouteTable
from .rules import Network

RETRY_AFTER_NO_INSTANCE = 5
CLIENT_GONE = 499  # nginx's status for "the client closed the connection"
UPSTREAM_BROKE = 502
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Front:
    def __init__(
        self,
        table: RouteTable,
        forwarder: Forwarder,
        firewall: Firewall,
        access: AccessLog,
        trusted: list[Network],
        tls: bool,
        authenticator: authn.Authenticator,
    ) -> None:
        self._authn = authenticator
        self._table = table
        self._firewall = firewall
        self._access = access
        self._trusted = trusted
        self._tls = tls
        self._forwarder = forwarder
        self._log = get_logger("proxy")

    def refusal(self, status: int, detail: str, request_id: str, retry_after: int = 0) -> web.Response:
        resp = web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}: {detail}\n")
        add_security_headers(resp.headers, self._tls, request_id)
        if retry_after:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        proto = request.protocol
        if isinstance(proto, FrontProtocol):
            proto.request_started()
        client = client_of(request, self._trusted, self._tls)
        route = self._table.match(request.path)
        trace = Trace(
            request_id_of(request),
            str(client.ip or "-"),
            route.prefix if route else NO_ROUTE,
            asyncio.get_running_loop().time(),
        )
        request[TRACE] = trace
        try:
            return await self._dispatch(request, route, client, trace)
        except (asyncio.CancelledError, ConnectionError):  # the client went away: aiohttp logs nothing
            self._access.finished(request, CLIENT_GONE, trace.bytes_out)
            raise
        except aiohttp.ClientError:  # the upstream broke off mid-body: aiohttp cuts the connection
            self._access.finished(request, UPSTREAM_BROKE, trace.bytes_out)
            raise
        finally:
            if isinstance(proto, FrontProtocol):
                proto.request_finished(body_left=not request.content.is_eof())

    def done(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        """aiohttp wrote `response` (ours, an upstream's, or its own 400/431/500)."""
        trace: Trace | None = request.get(TRACE)
        streamed = trace.bytes_out if trace else 0
        body = response.content_length if response.content_length is not None else streamed or response.body_length
        self._access.finished(request, response.status, body)

    async def _dispatch(
        self, request: web.BaseRequest, route: Route | None, client: Client, trace: Trace
    ) -> web.StreamResponse:
        request_id = trace.request_id
        verdict = self._firewall.check(client.ip, route.prefix if route else None)
        if verdict is not None:
            return self.refusal(verdict.status, verdict.reason, request_id, verdict.retry_after)
        if route is None:
            return self.refusal(404, "no route for this path", request_id)
        route = queries.choose(self._table, request, route)
        trace.route = route.prefix
        route = await self._table.serving(route)  # a restarting extension is a pause, not an error
        if not route.upstreams:
            return self.refusal(503, f"no live instance of {route.extension}", request_id, RETRY_AFTER_NO_INSTANCE)
        limit = self._firewall.rules.body_limit(route.prefix)
        if limit and (request.content_length or 0) > limit:
            return self._too_large(limit, request_id)
        outcome = await self._authn.authenticate(request, route, str(client.ip or ""))
        if outcome.response is not None:
            add_security_headers(outcome.response.headers, self._tls, request_id)
            return outcome.response
        headers = upstream_request_headers(request, client, request_id, outcome.headers, outcome.strip)
        body = body_of(request, limit)
        if body is not None and request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(_CONTINUE)
        try:
            return await self._forwarder.forward(request, route, headers, body, trace)
        except UpstreamUnavailable as exc:
            return self.refusal(exc.status, str(exc), request_id)
        except BodyTooLarge:
            return self._too_large(limit, request_id)

    def _too_large(self, limit: int, request_id: str) -> web.Response:
        resp = self.refusal(413, f"request body larger than {limit} bytes", request_id)
        resp.force_close()  # the unread body must not be taken for the next request
        return resp

    def protocol_error(self, request: web.BaseRequest, status: int, exc: BaseException | None) -> None:
        """aiohttp answers a request itself (400, 431, or 500 for a bug here, logged with its traceback).

        A client gone mid-body (ConnectionError) or an upstream that broke off
        (ClientError) reach aiohttp as a 500 too; both are in the access log already.
        """
        if status >= 500 and not isinstance(exc, (aiohttp.ClientError, ConnectionError)):
            detail = "".join(traceback.format_exception(exc)) if exc else ""
            self._log.error("proxy handler failed", status=status, error=detail)
