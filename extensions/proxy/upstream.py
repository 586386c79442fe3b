"""A lean HTTP/1.1 client for the hop to an upstream: a keep-alive pool per upstream.

aiohttp's ClientSession costs about twice what the rest of a proxied small
request costs (cookies, redirects, traces, URL handling the proxy never needs).
This client writes the request head itself and reads the answer with aiohttp's
own response protocol and C parser (`ResponseHandler`), so parsing, flow
control and payload streaming are aiohttp's; only the session layer is left out.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_parser import RawResponseMessage
from multidict import CIMultiDict

from ocisd.httpd import body_pieces

from . import splice

CONNECT_TIMEOUT = 5.0
READ_BUFSIZE = 256 * 1024
MAX_IDLE = 64  # kept-alive connections per upstream
IDLE_FOR = 30.0  # seconds; below the keep-alive timeout of common servers, so a reused one is rarely stale
MAX_HEADER = 65536

Body = aiohttp.StreamReader | AsyncIterator[bytes] | None


class ConnectFailed(Exception):
    """The upstream could not be reached: nothing of the request was sent, any request may be retried."""


class Reset(Exception):
    """A connection broke before an answer came (a kept-alive one the upstream had closed, or a crash).

    `reused`: on a kept-alive connection, which the upstream most likely closed before reading anything.
    """

    def __init__(self, text: str, reused: bool = False) -> None:
        super().__init__(text)
        self.reused = reused


@dataclass
class Answer:
    """An upstream's response head and its streaming body; `finish` hands the connection back."""

    message: RawResponseMessage
    payload: aiohttp.StreamReader
    _pool: Pool
    _conn: ResponseHandler
    _writer: asyncio.Task[None] | None
    read_timeout: float

    def take_socket(self) -> tuple[socket.socket, bytes] | None:
        """The upstream socket and the body bytes already read, for the caller to move the rest itself.

        Only for a plain-TCP connection (see splice.py). The transport stops
        reading and its read timer stops; the connection is closed at `finish`,
        since its parser never sees the rest of the body.
        """
        sock = splice.plain_socket(self._conn.transport)
        if sock is None or self.payload.is_eof() or self.payload.exception() is not None:
            return None
        assert self._conn.transport is not None
        buffered = self.payload.read_nowait()  # may resume reading (flow control): paused right after
        self._conn.transport.pause_reading()
        self._conn.read_timeout = None
        self._conn.start_timeout()  # with no timeout set, this cancels the pending one
        self._conn.force_close()
        return sock, buffered

    def finish(self, complete: bool) -> None:
        """Return the connection to the pool when the exchange completed cleanly, else close it."""
        writer_done = self._writer is None or (self._writer.done() and not self._writer.exception())
        keep = complete and writer_done and not self.message.should_close and not self._conn.should_close
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        self._pool.release(self._conn, keep)


def _head(method: str, target: str, headers: CIMultiDict[str], chunked: bool) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    lines += [f"{k}: {v}\r\n" for k, v in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


async def _write_body(conn: ResponseHandler, body: aiohttp.StreamReader | AsyncIterator[bytes], chunked: bool) -> None:
    chunks = body_pieces(body) if isinstance(body, aiohttp.StreamReader) else body
    async for chunk in chunks:
        if conn.transport is None:
            raise Reset("upstream closed the connection while the body was sent")
        if chunked:
            conn.transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
        else:
            conn.transport.write(chunk)
        await conn._drain_helper()  # waits while the upstream is slower than the client
    if chunked and conn.transport is not None:
        conn.transport.write(b"0\r\n\r\n")


class Pool:
    """Kept-alive connections to one upstream base URL (http:// or https://)."""

    def __init__(self, url: str, verify_tls: bool, read_timeout: float) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl.create_default_context()
            if not verify_tls:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._read_timeout = read_timeout
        self._idle: list[tuple[ResponseHandler, float]] = []  # (connection, idle since)

    async def _connect(self) -> ResponseHandler:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, conn = await loop.create_connection(
                    lambda: ResponseHandler(loop), self._host, self._port, ssl=self._ssl
                )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"{self._host}:{self._port}: {exc or type(exc).__name__}") from exc
        return conn

    async def _acquire(self) -> tuple[ResponseHandler, bool]:
        fresh = time.monotonic() - IDLE_FOR
        while self._idle:
            conn, since = self._idle.pop()
            if since > fresh and conn.is_connected() and not conn.should_close:
                return conn, True
            conn.close()
        return await self._connect(), False

    def release(self, conn: ResponseHandler, keep: bool) -> None:
        if keep and len(self._idle) < MAX_IDLE:
            self._idle.append((conn, time.monotonic()))
        else:
            conn.close()

    async def send(self, method: str, target: str, headers: CIMultiDict[str], body: Body) -> Answer:
        """Send the request; returns once the response head is in. ConnectFailed, Reset or the body's error."""
        conn, reused = await self._acquire()
        conn.set_response_params(
            skip_payload=method == "HEAD",
            read_until_eof=True,
            auto_decompress=False,
            read_timeout=self._read_timeout,
            read_bufsize=READ_BUFSIZE,
            max_line_size=MAX_HEADER,
            max_field_size=MAX_HEADER,
        )
        chunked = body is not None and "Content-Length" not in headers
        if "Host" not in headers:
            headers["Host"] = f"{self._host}:{self._port}"
        assert conn.transport is not None
        conn.transport.write(_head(method, self.prefix + target, headers, chunked))
        conn.start_timeout()
        writer = asyncio.ensure_future(_write_body(conn, body, chunked)) if body is not None else None
        try:
            message, payload = await self._answer(conn, writer)
        except BaseException as exc:
            if writer is not None:
                writer.cancel()
            conn.close()
            if isinstance(exc, (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
                where = f"{'kept-alive ' if reused else ''}connection to {self._host}:{self._port}"
                raise Reset(f"{where}: {exc}", reused) from exc
            raise
        return Answer(message, payload, self, conn, writer, self._read_timeout)

    async def _answer(
        self, conn: ResponseHandler, writer: asyncio.Task[None] | None
    ) -> tuple[RawResponseMessage, aiohttp.StreamReader]:
        """The response head; a failure sending the body wins only while no answer has come."""
        while True:
            if writer is None or writer.done():
                message, payload = await conn.read()
            else:
                reading = asyncio.ensure_future(conn.read())
                await asyncio.wait({reading, writer}, return_when=asyncio.FIRST_COMPLETED)
                failed = writer.done() and writer.exception()
                if failed and not reading.done():
                    reading.cancel()
                    raise failed
                message, payload = await reading
            if not 100 <= message.code <= 199 or message.code == 101:
                return message, payload  # interim 1xx answers are skipped, as aiohttp's client does

    async def close(self) -> None:
        for conn, _ in self._idle:
            conn.close()
        self._idle.clear()
