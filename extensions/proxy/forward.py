"""Sends a request to a route's upstream and streams the answer back, never holding a whole body.

Request bodies flow from the client socket to the upstream socket chunk by
chunk (aiohttp pauses reading when its buffer fills, the upstream connection
waits while the upstream is slower), responses likewise; a large GET answer
on plain TCP both ways never enters Python at all (splice.py), and one an
upstream on this host answers from a file is sent from that file by the
proxy itself (ocisd/handover.py). A connect failure
moves on to the next upstream: the body is not touched before the connection
exists. A reset is retried only for a request without a body, and then only when
its method is safe or the connection was a kept-alive one (which the upstream
closed before reading). When no upstream could take a request that may be sent
again, it is sent again as instances come back (a crashed one restarted on its
port, a new one in the route table), up to the route table's `no_instance_wait`.
Never is a request retried whose body an upstream may have read.
An instance in this process is called directly (local.py); others over
the pools of upstream.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDict

from ocisd import handover
from ocisd.httpd import body_pieces, send_file_span

from . import splice, streams
from .accesslog import Trace
from .balancer import Balancer
from .headers import add_security_headers, client_response_headers
from .local import LocalApps
from .routes import Route, RouteTable, Upstream
from .upstream import Answer, Body, ConnectFailed, Reset

SMALL_BODY = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "PROPFIND", "OPTIONS"})
RETRY_PAUSE = 0.1  # between rounds over refusing upstreams when the route table says nothing new
NO_BODY = (204, 304)
UpstreamErrorHook = Callable[[Route, Upstream, str], None]  # (route, upstream, kind)


class BodyTooLarge(Exception):
    """A body without Content-Length grew past the route's limit while streaming."""


class _Refused(Exception):
    """No upstream took the request; `repeatable` when none of them may have read any of it."""

    def __init__(self, detail: str, repeatable: bool) -> None:
        super().__init__(detail)
        self.repeatable = repeatable


class UpstreamUnavailable(Exception):
    """No upstream of the route could be reached (502) or answered in time (504)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def _limited(stream: aiohttp.StreamReader, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in body_pieces(stream):
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge(f"request body larger than {limit} bytes")
        yield chunk


def body_of(request: web.BaseRequest, limit: int) -> Body:
    if not request.body_exists:
        return None
    if limit and request.content_length is None:
        return _limited(request.content, limit)
    return request.content


async def _spliced(
    request: web.BaseRequest,
    out: web.StreamResponse,
    first: bytes,
    source: socket.socket,
    target: socket.socket,
    length: int,
    timeout: float,
    trace: Trace,
) -> None:
    """Send the head and `first` the usual way, then let the kernel move the rest of the body."""
    if first:
        await out.write(first)
    else:
        request.writer.send_headers()
    transport = request.transport
    assert transport is not None
    # The socket is written directly next: wait until aiohttp's buffer is in the kernel.
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0)
    try:
        await request.writer.drain()
    finally:
        transport.set_write_buffer_limits(high=high, low=low)
    trace.bytes_out += len(first)
    try:
        trace.spliced = await splice.relay(source, target, length - len(first), timeout)
        trace.bytes_out += trace.spliced
    except splice.SourceFailed as exc:  # the upstream's fault: as an aiohttp client would report it
        raise aiohttp.ClientPayloadError(str(exc)) from exc
    await out.write_eof()


class Forwarder:
    def __init__(
        self,
        table: RouteTable,
        balancer: Balancer,
        local: LocalApps,
        mailbox: handover.Mailbox | None,
        splice_ok: bool,
        tls: bool,
        on_upstream_error: UpstreamErrorHook,
    ) -> None:
        self._table = table
        self._balancer = balancer
        # The same-host shortcuts, both off with OCIS_LOCAL_HOP=false (then there is no mailbox).
        self._mailbox = mailbox
        self._splice = splice_ok
        self._local = local
        self._tls = tls
        self._on_error = on_upstream_error
        self.event_streams = streams.EventStreams()

    async def _open(
        self, request: web.BaseRequest, route: Route, order: list[Upstream], headers: CIMultiDict[str], body: Body
    ) -> tuple[Answer, Upstream]:
        """The first answer of `order`; rounds over the route's upstreams as they come back, while repeatable."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self._table.no_instance_wait
        while True:
            try:
                return await self._first_answer(request, route, order, headers, body)
            except _Refused as exc:
                if not exc.repeatable or loop.time() >= until:
                    raise UpstreamUnavailable(502, f"no upstream of {route.prefix} answered: {exc}") from None
            await self._table.next_change(until, RETRY_PAUSE)
            route = self._table.current(route)
            order = self._balancer.candidates(route)

    async def _first_answer(
        self, request: web.BaseRequest, route: Route, order: list[Upstream], headers: CIMultiDict[str], body: Body
    ) -> tuple[Answer, Upstream]:
        last, repeatable = "no upstream", True
        for up in order:
            try:
                answer = await self._balancer.pool(up).send(request.method, request.raw_path, headers, body)
            except ConnectFailed as exc:
                kind, retry, last = "connect", True, str(exc)
            except Reset as exc:
                kind, last = "reset", str(exc)
                retry = body is None and (exc.reused or request.method in SAFE_METHODS)
                repeatable = repeatable and retry
            except aiohttp.ServerTimeoutError as exc:
                self._on_error(route, up, "timeout")
                raise UpstreamUnavailable(504, f"upstream {up.url} timed out") from exc
            except (aiohttp.ClientError, HttpProcessingError) as exc:  # an answer that is not HTTP
                self._on_error(route, up, "reset")
                raise UpstreamUnavailable(502, f"upstream {up.url}: {exc}") from exc
            else:
                self._balancer.succeeded(up)
                return answer, up
            self._balancer.failed(up)
            self._on_error(route, up, kind)
            if not retry:
                break
        raise _Refused(last, repeatable)

    async def forward(
        self,
        request: web.BaseRequest,
        route: Route,
        headers: CIMultiDict[str],
        body: Body,
        trace: Trace,
    ) -> web.StreamResponse:
        order = self._balancer.candidates(route)
        headers.popall(handover.HEADER, None)  # only the proxy asks for a hand-over
        app = self._local.app_of(order[0]) if order and (body is None or body is request.content) else None
        if app is not None:
            trace.upstream = f"local:{order[0].url}"
            return await self._local.call(app, request, headers, trace.request_id)
        ticket = ""
        if request.method == "GET" and body is None and self._mailbox is not None:
            headers[handover.HEADER], ticket = self._mailbox.ask()
        answer, up = await self._open(request, route, order, headers, body)
        handed = self._handed_over(answer, ticket)
        if handed is None and ticket and handover.HEADER in answer.message.headers:
            # Granted, but no descriptor came (a mailbox flooded by strangers): ask the same instance plainly.
            answer.finish(complete=True)
            del headers[handover.HEADER]
            answer, up = await self._open(request, route, [up], headers, body)
        trace.upstream = up.url
        try:
            if handed is not None:
                out = await self._send_handed_over(request, answer, *handed, trace)
            else:
                out = await self._relay(request, answer, trace)
        except (aiohttp.ClientError, UpstreamUnavailable):
            answer.finish(complete=False)
            self._on_error(route, up, "body")
            raise
        except BaseException:
            answer.finish(complete=False)
            raise
        answer.finish(complete=not streams.endless(answer.message.headers))
        return out

    def _handed_over(self, answer: Answer, ticket: str) -> tuple[handover.Grant, int] | None:
        """The span and descriptor the upstream handed over for `ticket`, if it did and it arrived."""
        text = answer.message.headers.get(handover.HEADER)
        if not ticket or text is None or self._mailbox is None:
            return None
        grant, fd = handover.parse_grant(text), self._mailbox.take(ticket)
        if grant is not None and fd is not None:
            return grant, fd
        if fd is not None:
            os.close(fd)
        return None

    async def _send_handed_over(
        self, request: web.BaseRequest, answer: Answer, grant: handover.Grant, fd: int, trace: Trace
    ) -> web.StreamResponse:
        """Send the span of the file the upstream handed over, with the upstream's head."""
        try:
            headers = client_response_headers(answer.message.headers)
            headers["Content-Length"] = str(grant.count)
            out = web.StreamResponse(status=answer.message.code, reason=answer.message.reason, headers=headers)
            add_security_headers(out.headers, self._tls, trace.request_id)
            await out.prepare(request)
            sent = await send_file_span(request, out, fd, grant.offset, grant.count)
        finally:
            os.close(fd)
        trace.bytes_out += sent
        if sent < grant.count:  # blobs do not shrink, but a short body must cut the connection, not hang it
            raise aiohttp.ClientPayloadError(f"the handed-over file ended {grant.count - sent} bytes early")
        trace.handed_over = sent
        await out.write_eof()
        return out

    async def _relay(self, request: web.BaseRequest, answer: Answer, trace: Trace) -> web.StreamResponse:
        status, reason = answer.message.code, answer.message.reason
        headers = client_response_headers(answer.message.headers)
        length_text = answer.message.headers.get("Content-Length", "")
        length = int(length_text) if length_text.isdigit() else None
        if length is not None and length <= SMALL_BODY and request.method != "HEAD" and status not in NO_BODY:
            # A small body goes out with its headers in one write (one syscall instead of three),
            # bounded like nginx's proxy buffers; everything else streams.
            try:
                body = await answer.payload.readexactly(length)
            except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:  # nothing sent yet: a clean 502
                raise UpstreamUnavailable(502, "the upstream broke off its answer") from exc
            del headers["Content-Length"]
            small = web.Response(status=status, reason=reason, headers=headers, body=body)
            add_security_headers(small.headers, self._tls, trace.request_id)
            return small
        out = web.StreamResponse(status=status, reason=reason, headers=headers)
        add_security_headers(out.headers, self._tls, trace.request_id)
        await out.prepare(request)
        if (
            self._splice
            and length is not None
            and length >= splice.MIN_SIZE
            and request.method == "GET"
            and status in (200, 206)
        ):
            target = splice.plain_socket(request.transport)
            taken = answer.take_socket() if target is not None else None
            if target is not None and taken is not None:
                source, first = taken
                await _spliced(request, out, first, source, target, length, answer.read_timeout, trace)
                return out
        endless = streams.endless(answer.message.headers)
        async for chunk in self.event_streams.pieces(answer.payload) if endless else body_pieces(answer.payload):
            trace.bytes_out += len(chunk)
            await out.write(chunk)
        await out.write_eof()
        return out
