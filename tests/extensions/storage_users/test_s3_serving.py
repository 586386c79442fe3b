"""Downloads of blobs that are no local file (S3) answer exactly as sendfile ones do: the streamed
answer against sendfile on one file, and an S3-backed storage-users (a real SeaweedFS) against a
local one, for current and kept versions."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Iterator
from http.client import HTTPConnection, IncompleteRead
from pathlib import Path

import pytest
from aiohttp import web

from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.storage.resources import Node
from ocisd.storage.service.downloads import answer
from tests.support.harness import free_port
from tests.support.seaweedfs import SeaweedFS
from tests.support.storage_stack import Stack, blob_files, ref, running_stack

DATA = bytes(range(256)) * 1000  # 256 000 bytes: more than one piece, past the hand-over minimum
NODE = Node("n1", "s1", "", "a.bin", 1, len(DATA), 1_600_000_000_700_000_000, "e1", mime="application/x-test")
ETAG = f'"{NODE.etag}"'
MTIME = NODE.mtime
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


class Unreachable(FileRanges):
    """A store that fails before the first byte (S3 down)."""

    async def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        raise errors.StorageError(errors.Kind.UNAVAILABLE, "blobs-unavailable", "S3 is down")
        yield b""


class Short(FileRanges):
    """A store whose object ends early."""

    async def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        yield b"x" * min(count, 10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One loopback server: /file/ answers by sendfile, /stream/ from the range reader."""
    blob = tmp_path_factory.mktemp("blob") / "blob"
    blob.write_bytes(DATA)

    async def by_file(request: web.Request) -> web.StreamResponse:
        return answer(request, NODE, blob)

    async def by_stream(request: web.Request) -> web.StreamResponse:
        return answer(request, NODE, FileRanges(blob))

    async def broken(request: web.Request) -> web.StreamResponse:
        return answer(request, NODE, {"unreachable": Unreachable, "short": Short}[request.query["how"]](blob))

    app = web.Application()
    app.router.add_get("/file", by_file)
    app.router.add_get("/stream", by_stream)
    app.router.add_get("/broken", broken)
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


def test_a_store_failing_before_the_first_byte_is_a_503_and_one_ending_early_breaks_the_answer(server: str) -> None:
    status, headers, body = fetch(server, "GET", "/broken?how=unreachable", {"Range": "bytes=0-99"})
    assert (status, json.loads(body)["reason"]) == (503, "blobs-unavailable") and "content-range" not in headers
    assert fetch(server, "HEAD", "/broken?how=unreachable", {})[0] == 200  # HEAD reads nothing
    with pytest.raises(IncompleteRead):  # the head promised more: the client must not take it as whole
        fetch(server, "GET", "/broken?how=short", {})


@pytest.fixture(scope="module")
def stacks(seaweedfs: SeaweedFS) -> Iterator[tuple[Stack, Stack]]:
    """A local storage-users and an S3-backed one, each holding /a.bin (two revisions) alike."""
    with running_stack() as local, running_stack(seaweedfs.settings("STORAGE_USERS", "s3-serving")) as s3:
        for stack in (local, s3):
            assert stack.upload("/a.bin", DATA[::-1], mtime_ns=MTIME - 10**9).status == 201
            assert stack.upload("/a.bin", DATA, mtime_ns=MTIME).status == 200
        yield local, s3


def _answers(stack: Stack, version: bool) -> list[tuple[int, dict[str, str], bytes]]:
    """Every ask of ASKS (with this stack's etag) for /a.bin or its kept version, GET and HEAD,
    with the ids that differ between the two stacks replaced by placeholders."""
    if version:
        kept = stack.call("ListFileVersions", pb.ListFileVersionsRequest(ref=ref("/a.bin"))).versions[0]
        request = pb.InitiateVersionDownloadRequest(ref=ref("/a.bin"), key=kept.key)
        url, etag = stack.call("InitiateVersionDownload", request).download_url, kept.etag
    else:
        url = stack.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=ref("/a.bin"))).download_url
        etag = stack.stat("/a.bin").etag
    info = stack.stat("/a.bin")
    netloc, _, path = url.removeprefix("http://").partition("/")
    found = []
    for method in ("GET", "HEAD"):
        for ask in ASKS:
            headers = {k: v.replace(NODE.etag, etag) for k, v in ask.items()}
            status, got, body = fetch(netloc, method, "/" + path, headers)
            ids = {etag: "{etag}", info.id: "{id}"}
            for k, v in got.items():
                for value, placeholder in ids.items():
                    v = v.replace(value, placeholder)
                got[k] = v
            found.append((status, got, body))
    return found


@pytest.mark.parametrize("version", [False, True], ids=["current", "version"])
def test_s3_backed_storage_answers_downloads_as_local_storage_does(stacks: tuple[Stack, Stack], version: bool) -> None:
    local, s3 = stacks
    assert blob_files(local) and not blob_files(s3)  # sendfile there, a ranged S3 read here
    expected, found = _answers(local, version), _answers(s3, version)
    assert [a[0] for a in found] == [a[0] for a in expected]
    assert found == expected
    assert {a[0] for a in found} == {200, 206, 304, 412, 416}
