"""The front connection: aiohttp's HTTP/1.1 protocol plus a header read timeout (408), 431 and lingering close.

aiohttp has no timeout for a client that sends its request headers slowly
(slowloris); its keep-alive timer only closes idle connections. Each
connection here starts a timer when the first byte of a request arrives (or
when it opens) and stops it when the headers are complete and the handler
runs. On expiry a connection that sent part of a request gets `408` and is
closed; one that sent nothing is closed silently, like an idle keep-alive.
Every answer given before the request was read (408, and aiohttp's own 400 and
431) ends in a lingering close (`linger.py`), so the client reads it instead of
a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_exceptions import LineTooLong
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from ocisd.logs import get_logger

from .linger import Lingering

Limits = Callable[[], tuple[int, float]]  # → (max header size, header timeout), read per connection
ErrorHook = Callable[[web.BaseRequest, int, BaseException | None], None]
DoneHook = Callable[[web.BaseRequest, web.StreamResponse], None]

_log = get_logger("proxy")
KEEPALIVE_TIMEOUT = 75.0
READ_BUFSIZE = 1024 * 1024  # deep enough that a streamed PUT body rarely pauses the socket
MAX_HEADERS = 128
QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)  # Linux only; 0: not available
_408 = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class FrontProtocol(RequestHandler):
    def __init__(self, manager: FrontServer, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._on_error = manager.on_error
        self._on_done = manager.on_done
        self._timer: asyncio.TimerHandle | None = None
        self._quickack: socket.socket | None = None
        self._busy = False
        self._got_bytes = False
        self._timing = True
        self._refused = False  # aiohttp answers an unreadable request: linger once it is written
        self._lingering: Lingering | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if QUICKACK and sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            self._quickack = sock
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        if self._lingering is not None:
            self._lingering.close()
        super().connection_lost(exc)

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        if self._lingering is not None:
            self._lingering.close()
        await super().shutdown(timeout)

    def _linger(self) -> None:
        """Take the transport from aiohttp, which stops serving it, and close it lingering."""
        transport, self.transport = self.transport, None
        self.force_close()
        if isinstance(transport, asyncio.Transport) and not transport.is_closing():
            self._lingering = Lingering(transport, self._loop)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering.discard(data)
            return
        if self._quickack is not None:
            # Clients like Qt's (the desktop client) write a request's head and body separately,
            # and Nagle holds the body until the head is acknowledged; Linux delays that ACK by
            # 40 ms. Acknowledging at once (the flag does not stick, so after every read)
            # saves those 40 ms on every request with a body.
            with contextlib.suppress(OSError):
                self._quickack.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        if not self._busy and self._timing:
            self._got_bytes = True
            if self._timer is None:
                self._arm()
        super().data_received(data)

    def request_started(self) -> None:
        """The headers are complete and the handler runs: the header timer stops."""
        self._busy = True
        self._disarm()

    def request_finished(self, body_left: bool) -> None:
        """The response is sent; the next bytes start the next request's timer.

        While aiohttp drains an unread body the bytes are not a new request, so
        such a connection is not timed any more (aiohttp closes it if the drain fails).
        """
        self._busy = False
        self._got_bytes = False
        self._timing = self._timing and not body_left

    def _arm(self) -> None:
        self._timer = self._loop.call_later(self._header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._busy or self.transport is None:
            return
        if not self._got_bytes:
            self.force_close()
            return
        self.transport.write(_408)
        self._linger()

    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if isinstance(exc, LineTooLong) or "too many headers" in str(exc).lower():
            status, message = 431, "431 Request Header Fields Too Large"
        self._refused = status < 500
        self._on_error(request, status, exc)
        return super().handle_error(request, status, exc, message)

    def log_access(self, request: web.BaseRequest, response: web.StreamResponse, time: float | None) -> None:
        """The response is written: the access log's moment, and a refused request's lingering close."""
        self._on_done(request, response)
        if self._refused:
            self._linger()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's own error lines go to debug: `on_error` reports what matters, once."""
        exc = kw.get("exc_info")
        _log.debug(str(args[0]) if args else "connection error", error=repr(exc) if exc else "")


class FrontRequest(web.Request):
    """A request that runs `on_prepare` just before its response's headers go out.

    A full `web.Request` (not the low-level server's BaseRequest), so a local
    extension's aiohttp application can handle a clone of it directly.
    """

    ATTRS = web.Request.ATTRS | frozenset(["on_prepare"])
    on_prepare: Callable[[web.StreamResponse], None] | None = None

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        if self.on_prepare is not None:
            self.on_prepare(response)
        await super()._prepare_hook(response)


class FrontServer(web.Server):
    """aiohttp's low-level server making `FrontProtocol`s with the limits in force at connect time."""

    def __init__(
        self,
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        limits: Limits,
        on_error: ErrorHook,
        on_done: DoneHook,
    ) -> None:
        # Handlers run to the end when the client leaves, as in any aiohttp app: a local extension
        # handed the request on the local hop must behave as it does behind a socket.
        super().__init__(handler, request_factory=self._front_request, handler_cancellation=False)
        self._limits = limits
        self.on_error = on_error
        self.on_done = on_done

    def _front_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> FrontRequest:
        return FrontRequest(message, payload, protocol, writer, task, self._loop)

    def __call__(self) -> FrontProtocol:
        max_header, timeout = self._limits()
        return FrontProtocol(
            self,
            header_timeout=timeout,
            loop=self._loop,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            max_line_size=max_header,
            max_field_size=max_header,
            max_headers=MAX_HEADERS,
            read_bufsize=READ_BUFSIZE,
            auto_decompress=False,
            access_log=None,
        )
