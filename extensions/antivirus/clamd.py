"""A clamd client: INSTREAM over a unix socket or TCP, asyncio, streamed in chunks.

`zINSTREAM\0`, then chunks each prefixed with its length (4 bytes, big endian),
then a zero-length chunk; clamd answers one NUL-terminated line: `stream: OK`,
`stream: <signature> FOUND` or `<words> ERROR`. Anything else, a refused or
silent socket, or a connection closed before the answer is `ClamdUnavailable`:
a scan that did not happen is never "clean".
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 64 * 1024
UNOFFICIAL = ".UNOFFICIAL"
REPLY_MAX = 4096  # clamd's answer line; anything longer is not clamd


class ClamdUnavailable(Exception):
    """clamd could not be reached, did not answer in time, or answered nonsense."""


@dataclass(frozen=True)
class Verdict:
    result: str  # "clean" | "infected" | "error"
    signature: str = ""
    error: str = ""


def parse_reply(line: str) -> Verdict:
    """clamd's answer to one INSTREAM as a verdict; ClamdUnavailable for an answer clamd never gives."""
    body = line.removeprefix("stream: ") if line.startswith("stream: ") else line
    if line == "stream: OK":
        return Verdict("clean")
    if line.startswith("stream: ") and body.endswith(" FOUND") and body.removesuffix(" FOUND").strip():
        # clamd marks names from databases it did not verify; the name is what the database says.
        return Verdict("infected", signature=body.removesuffix(" FOUND").strip().removesuffix(UNOFFICIAL))
    if line.endswith(" ERROR"):
        return Verdict("error", error=body.removesuffix(" ERROR").strip())
    raise ClamdUnavailable(f"unexpected clamd answer {line[:200]!r}")


def check_address(address: str) -> None:
    """ValueError unless `address` is a unix socket path or tcp://host:port."""
    if address.startswith("tcp://"):
        parts = urlsplit(address)
        if not parts.hostname or parts.port is None or parts.path not in ("", "/"):
            raise ValueError(f"clamd address {address!r}: expected tcp://host:port")
    elif not address.startswith("/"):
        raise ValueError(f"clamd address {address!r}: expected an absolute unix socket path or tcp://host:port")


class Clamd:
    """One clamd, reached at `address` (a unix socket path or tcp://host:port)."""

    def __init__(self, address: str, timeout: float) -> None:
        check_address(address)
        self._address = address
        self._timeout = timeout

    async def _connect(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        target: str | tuple[str, int] = self._address
        family = socket.AF_UNIX
        if self._address.startswith("tcp://"):
            parts = urlsplit(self._address)
            host, port = parts.hostname or "", parts.port or 0
            family, target = (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, port)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, target), self._timeout)
        except (OSError, TimeoutError) as exc:
            sock.close()
            raise ClamdUnavailable(f"clamd at {self._address} unreachable: {exc or 'timeout'}") from None
        return sock

    async def ping(self) -> None:
        """ClamdUnavailable unless clamd answers PONG."""
        with await self._connect() as sock:
            await self._send(sock, b"zPING\0")
            if await self._within(self._reply(sock)) != "PONG":
                raise ClamdUnavailable("clamd did not answer PING with PONG")

    async def instream(self, pieces: AsyncIterator[bytes]) -> Verdict:
        """Scan the bytes `pieces` yields, chunk by chunk.

        clamd answers early and closes when the stream passes its StreamMaxLength: the
        answer is read while sending, so it is not lost to the failed writes after it.
        """
        with await self._connect() as sock:
            answer = asyncio.ensure_future(self._reply(sock))
            try:
                await self._send(sock, b"zINSTREAM\0")
                async for piece in pieces:
                    for start in range(0, len(piece), CHUNK):
                        if answer.done():
                            return parse_reply(answer.result())
                        part = piece[start : start + CHUNK]
                        await self._send(sock, struct.pack(">I", len(part)) + part)
                await self._send(sock, struct.pack(">I", 0))
            except ClamdUnavailable:
                pass  # clamd closed its end: its answer, if any, says why
            except BaseException:
                answer.cancel()
                raise
            return parse_reply(await self._within(answer))

    async def _within(self, answer: Awaitable[str]) -> str:
        try:
            return await asyncio.wait_for(answer, self._timeout)
        except TimeoutError:
            raise ClamdUnavailable(f"clamd at {self._address} gave no answer in {self._timeout:g}s") from None

    async def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(sock, data), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise ClamdUnavailable(f"clamd at {self._address} stopped reading: {exc or 'timeout'}") from None

    async def _reply(self, sock: socket.socket) -> str:
        """clamd's NUL-terminated answer (no timeout here: it is read while the stream is sent)."""
        loop = asyncio.get_running_loop()
        raw = b""
        while not raw.endswith(b"\0"):
            try:
                piece = await loop.sock_recv(sock, REPLY_MAX)
            except OSError as exc:
                raise ClamdUnavailable(f"clamd at {self._address} gave no answer: {exc}") from None
            if not piece:
                raise ClamdUnavailable(f"clamd at {self._address} closed the connection without an answer")
            raw += piece
            if len(raw) > REPLY_MAX:
                raise ClamdUnavailable("clamd's answer is too long")
        return raw[:-1].decode("utf-8", "replace").strip()
