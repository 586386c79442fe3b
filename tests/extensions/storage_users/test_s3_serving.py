"""Downloads of blobs that are no local file (S3) answer exactly as sendfile ones do."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest
from aiohttp import web

from ocisd.storage.resources import Node
from ocisd.storage.service.downloads import answer
from tests.support.harness import free_port

DATA = bytes(range(256)) * 1000  # 256 000 bytes: more than one piece, past the hand-over minimum
NODE = Node("n1", "s1", "", "a.bin", 1, len(DATA), 1_600_000_000_700_000_000, "e1", mime="application/x-test")
ETAG = f'"{NODE.etag}"'
# Header sets whose answers must not differ: Range forms (206, 416), If-Range, conditionals (304, 412).
ASKS: list[dict[str, str]] = [
    {},
    {"Range": "bytes=10-19"},
    {"Range": "bytes=-100"},
    {"Range": "bytes=255990-"},
    {"Range": "bytes=100-999999"},
    {"Range": "bytes=-999999"},
    {"Range": "bytes=256000-"},
    {"Range": "bytes=5-2"},
    {"Range": "bytes=0-1,5-6"},
    {"Range": "items=0-1"},
    {"Range": "bytes=10-19", "If-Range": ETAG},
    {"Range": "bytes=10-19", "If-Range": '"old"'},
    {"Range": "bytes=10-19", "If-Range": "Sun, 13 Sep 2020 12:26:40 GMT"},
    {"If-None-Match": ETAG},
    {"If-None-Match": '"old"', "Range": "bytes=0-0"},
    {"If-Match": '"old"'},
    {"If-Match": ETAG, "Range": "bytes=1-2"},
    {"If-Modified-Since": "Sun, 13 Sep 2020 12:26:40 GMT"},
    {"If-Unmodified-Since": "Sat, 12 Sep 2020 00:00:00 GMT"},
]


class FileRanges:
    """A range reader over a local file, in small pieces (as an S3 body arrives)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    async def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        with self.path.open("rb") as f:
            f.seek(offset)
            while count > 0:
                piece = f.read(min(count, 7000))
                count -= len(piece)
                yield piece


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One loopback server: /file/ answers by sendfile, /stream/ from the range reader."""
    blob = tmp_path_factory.mktemp("blob") / "blob"
    blob.write_bytes(DATA)

    async def by_file(request: web.Request) -> web.StreamResponse:
        return answer(request, NODE, blob)

    async def by_stream(request: web.Request) -> web.StreamResponse:
        return answer(request, NODE, FileRanges(blob))

    app = web.Application()
    app.router.add_get("/file", by_file)
    app.router.add_get("/stream", by_stream)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    port = free_port()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def fetch(netloc: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = HTTPConnection(netloc, timeout=30)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        kept = {k.lower(): v for k, v in resp.getheaders() if k.lower() not in ("date", "server")}
        return resp.status, kept, body
    finally:
        conn.close()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_streamed_blob_answers_as_sendfile_does(server: str, method: str) -> None:
    statuses = set()
    for headers in ASKS:
        by_file = fetch(server, method, "/file", headers)
        assert fetch(server, method, "/stream", headers) == by_file, headers
        statuses.add(by_file[0])
    assert statuses == {200, 206, 304, 412, 416}
    status, headers, body = fetch(server, method, "/stream", {"Range": "bytes=-100"})
    assert (status, headers["content-range"], headers["content-length"]) == (206, "bytes 255900-255999/256000", "100")
    assert body == (DATA[-100:] if method == "GET" else b"")
