"""Large plain-HTTP answers cross the proxy by splice(2): whole, countable, and safe when either side breaks."""

from __future__ import annotations

import hashlib
import os
import signal
import socket

from tests.support.harness import Deployment, metric_value, wait_until
from tests.support.proxy import connection, request, start_blob_behind_plain_proxy
from tests.support.proxy_upstream import pattern, pattern_sha256

SIZE = 48 * 1024 * 1024
HUGE = 1024 * 1024 * 1024  # more than any socket buffer: the transfer is still running when we break it


def _spliced(dep: Deployment) -> float:
    return metric_value(dep.metrics("proxy"), "proxy_spliced_bytes_total", 'route="/blob/"')


def _start(dep: Deployment) -> tuple[str, int]:
    proxy, upstream, _ = start_blob_behind_plain_proxy(dep)
    return proxy, upstream.pid


def _begin_get(proxy: str, path: str) -> socket.socket:
    """A raw GET whose answer we read as far as we like."""
    host, port = proxy.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {proxy}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def _read_until_closed(sock: socket.socket, limit: int) -> int:
    got = 0
    while got < limit and (chunk := sock.recv(1 << 20)):
        got += len(chunk)
    return got


def test_large_answer_is_spliced_whole_and_the_pool_keeps_working(dep: Deployment) -> None:
    proxy, _ = _start(dep)
    for _ in range(2):  # the second proves the closed upstream connection is replaced
        status, headers, body = request(proxy, "GET", f"/blob/source/{SIZE}", tls=False)
        assert status == 200 and headers["content-length"] == str(SIZE)
        assert hashlib.sha256(body).hexdigest() == pattern_sha256(SIZE)
    wait_until(lambda: _spliced(dep) >= SIZE, what="spliced bytes counted")  # the first piece may go the usual way
    conn = connection(proxy, tls=False)  # the client's connection stays usable after a spliced answer
    try:
        for path in (f"/blob/source/{SIZE}", "/blob/small", f"/blob/source/{SIZE}"):
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and len(body) == int(resp.headers["Content-Length"]) and not resp.will_close
        assert hashlib.sha256(body).hexdigest() == pattern_sha256(SIZE)
    finally:
        conn.close()
    small = 256 * 1024  # below the splice threshold: streamed as before, not counted
    before = _spliced(dep)
    status, _, body = request(proxy, "GET", f"/blob/source/{small}", tls=False)
    assert status == 200 and body == pattern(small)
    status, headers, body = request(proxy, "GET", f"/blob/source/{SIZE}?chunked", tls=False)
    assert status == 200 and headers["transfer-encoding"] == "chunked" and len(body) == SIZE
    assert _spliced(dep) == before


def test_client_leaving_mid_transfer_leaves_the_proxy_serving(dep: Deployment) -> None:
    proxy, _ = _start(dep)
    sock = _begin_get(proxy, f"/blob/source/{HUGE}")
    assert _read_until_closed(sock, 4 << 20) >= 4 << 20
    sock.close()
    status, _, body = request(proxy, "GET", f"/blob/source/{SIZE}", tls=False)
    assert status == 200 and hashlib.sha256(body).hexdigest() == pattern_sha256(SIZE)


def test_upstream_killed_mid_transfer_cuts_the_client_connection(dep: Deployment) -> None:
    proxy, upstream_pid = _start(dep)
    sock = _begin_get(proxy, f"/blob/source/{HUGE}")
    assert _read_until_closed(sock, 4 << 20) >= 4 << 20
    os.kill(upstream_pid, signal.SIGKILL)
    got = _read_until_closed(sock, HUGE)  # ends: the proxy closes instead of leaving the client waiting
    sock.close()
    assert got < HUGE
    errors = 'kind="body",route="/blob/"'
    wait_until(lambda: metric_value(dep.metrics("proxy"), "proxy_upstream_errors_total", errors) >= 1, what="error")
