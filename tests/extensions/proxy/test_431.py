"""An oversized request header gets 431 and a lingering close, never a reset, even over TLS.

The proxy answers as soon as the header passes its limit, while the client is
still sending the rest. Closing at once would make the kernel reset the
connection over the unread bytes, and the client would lose the answer; the
proxy instead shuts its side, reads and discards what still comes (for a
bounded time and number of bytes) and closes when the client does.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl

import pytest

from tests.support.harness import Deployment
from tests.support.proxy import NO_VERIFY, wait_routed

HEADER = 96 * 1024  # three times PROXY_MAX_HEADER_SIZE's default
PIECE = 4096
BEFORE_ANSWER = 12  # 48 KiB: past the limit


def send_oversized(addr: str, tls: bool) -> tuple[int, bytes]:
    """A 96 KiB header in 4 KiB writes, still being written after the proxy answered; then that answer."""
    host, port = addr.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=30)
    sock = NO_VERIFY.wrap_socket(raw, server_hostname=host) if tls else raw
    with sock:
        head = b"GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * HEADER + b"\r\n\r\n"
        pieces = [head[start : start + PIECE] for start in range(0, len(head), PIECE)]
        for piece in pieces[:BEFORE_ANSWER]:
            sock.sendall(piece)
        # The proxy has answered (the limit is behind us): the rest of the header goes out after that.
        assert select.select([sock], [], [], 30)[0], "no answer to an oversized header"
        for piece in pieces[BEFORE_ANSWER:]:
            sock.sendall(piece)
        # Read as an HTTP client does: the head, then Content-Length bytes (TLS cannot signal EOF early).
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read()


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_oversized_header_gets_431_not_a_reset(dep: Deployment, tls: bool) -> None:
    dep.start_runtime("bus,hello,proxy", env={"PROXY_TLS": str(tls).lower()})
    proxy = dep.addr("proxy", "http_addr")
    wait_routed(proxy, "/hello/", tls=tls)
    for attempt in range(20):
        try:
            answer = send_oversized(proxy, tls)
        except (ConnectionError, ssl.SSLError) as exc:
            pytest.fail(f"attempt {attempt}: the proxy reset the connection instead of answering 431: {exc!r}")
        assert answer == (431, b"431 Request Header Fields Too Large")
