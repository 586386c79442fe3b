"""256 MiB up and down through the proxy (its own process, TLS) with the proxy's memory kept flat."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator

import psutil

from tests.support.harness import Deployment
from tests.support.proxy import connection, open_blob_route, request, start_upstream, wait_routed
from tests.support.proxy_upstream import BLOCK, pattern, pattern_sha256

SIZE = 256 * 1024 * 1024
MAX_GROWTH = 50 * 1024 * 1024


class PeakRss:
    """Samples a process's RSS in a thread while a transfer runs."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.base = self._proc.memory_info().rss
        self.peak = self.base
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def _generated(size: int) -> Iterator[bytes]:
    for _ in range(size // len(BLOCK)):
        yield BLOCK


def test_256_mib_put_and_get_stream_through_the_proxy(dep: Deployment) -> None:
    open_blob_route(dep)
    dep.start_runtime("bus")
    proxy_proc = dep.start_extension("proxy")
    proxy = dep.addr("proxy", "http_addr")
    start_upstream(dep)
    wait_routed(proxy, "/blob/small")
    request(proxy, "PUT", "/blob/sink", body=b"warm-up" * 1000)  # pools and buffers exist before measuring

    with PeakRss(proxy_proc.pid) as put_rss:
        conn = connection(proxy, timeout=120)
        conn.request("PUT", "/blob/sink", body=_generated(SIZE), headers={"Content-Length": str(SIZE)})
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        conn.close()
    assert resp.status == 200 and answer == {"bytes": SIZE, "sha256": pattern_sha256(SIZE)}
    assert put_rss.growth < MAX_GROWTH, f"proxy RSS grew {put_rss.growth / 2**20:.1f} MiB during the PUT"

    with PeakRss(proxy_proc.pid) as get_rss:
        conn = connection(proxy, timeout=120)
        conn.request("GET", f"/blob/source/{SIZE}")
        resp = conn.getresponse()
        digest, got = hashlib.sha256(), 0
        while chunk := resp.read(1 << 20):
            digest.update(chunk)
            got += len(chunk)
        conn.close()
    assert resp.status == 200 and got == SIZE and digest.hexdigest() == pattern_sha256(SIZE)
    assert get_rss.growth < MAX_GROWTH, f"proxy RSS grew {get_rss.growth / 2**20:.1f} MiB during the GET"


def test_chunked_bodies_and_head_stream_through(dep: Deployment) -> None:
    open_blob_route(dep)
    dep.start_runtime("bus,proxy")
    proxy = dep.addr("proxy", "http_addr")
    start_upstream(dep)
    wait_routed(proxy, "/blob/small")
    size = 8 * len(BLOCK)
    status, _, body = request(proxy, "PUT", "/blob/sink", body=_generated(size))  # type: ignore[arg-type]
    assert status == 200 and json.loads(body) == {"bytes": size, "sha256": pattern_sha256(size)}
    status, headers, body = request(proxy, "GET", f"/blob/source/{size}?chunked")
    assert status == 200 and headers["transfer-encoding"] == "chunked" and body == pattern(size)
    status, headers, body = request(proxy, "HEAD", f"/blob/source/{size}")
    assert status == 200 and headers["content-length"] == str(size) and body == b""
