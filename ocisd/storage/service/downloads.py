"""The data server's answer to a download: conditionals, then the blob's bytes by whatever way it has.

A blob on local disk goes out with sendfile, or its open descriptor is handed
to the proxy on this host (ocisd/handover.py). A blob that is no local file (an
S3 object) gives a `RangeReader` instead, and `StreamedBlob` streams the span
it reads, piece by piece, with the answers FileResponse gives for a file:
Range (206, 416), Content-Length, Accept-Ranges, HEAD. Both carry our etag and
mtime, and the handler answers If-Match/If-None-Match/If*-Since (304, 412) and
If-Range itself, so the two ways answer alike.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path
from typing import IO, Any, Protocol

from aiohttp import hdrs, web
from aiohttp.helpers import must_be_empty_body

from ocisd import handover
from ocisd.api.storage.v1.contract import external_id
from ocisd.storage.resources import Node


class RangeReader(Protocol):
    """A blob's bytes by span (an S3 ranged GET), for a blob store whose blobs are no local files."""

    size: int

    def read(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        """`count` bytes from `offset`, in pieces as they arrive (never the whole blob at once)."""
        ...


def node_headers(node: Node) -> dict[str, str]:
    return {
        "ETag": f'"{node.etag}"',
        "OC-ETag": f'"{node.etag}"',
        "OC-FileId": external_id(node.space, node.id),
        "OC-Checksum": f"SHA1:{node.sha1}",
    }


def answer(request: web.Request, node: Node, blob: Path | RangeReader | None) -> web.StreamResponse:
    """The answer for the file `node` whose bytes are `blob` (None: empty), conditionals judged first."""
    if (status := _condition(request, node)) is not None:
        resp = web.Response(status=status, headers=node_headers(node))
        resp.last_modified = node.mtime / 1e9
        return resp
    if blob is None:
        resp = web.Response(body=b"", headers=node_headers(node), content_type=node.mime)
        resp.last_modified = node.mtime / 1e9
        return resp
    stream: web.StreamResponse = _BlobResponse(blob, node) if isinstance(blob, Path) else StreamedBlob(blob, node)
    stream.content_type = node.mime
    return stream


class _BlobResponse(web.FileResponse):
    """sendfile with Range, but our etag and mtime instead of the blob file's; or a hand-over to the proxy."""

    def __init__(self, path: Path, node: Node) -> None:
        super().__init__(path, headers=node_headers(node))
        self._node = node

    @property
    def etag(self) -> Any:
        return self.headers.get(hdrs.ETAG)

    @etag.setter
    def etag(self, value: Any) -> None:
        self.headers[hdrs.ETAG] = f'"{self._node.etag}"'

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self.prepared:
            # Sent already on the in-process hop (ocdav answers with it); the front server prepares
            # every answer once more, and FileResponse would open and send the file again.
            return await web.StreamResponse.prepare(self, request)
        # The handler answered the conditionals with our etag: aiohttp must not judge them by the blob file's.
        return await super().prepare(_plain_request(request, self._node))

    async def _sendfile(self, request: web.BaseRequest, fobj: IO[Any], offset: int, count: int) -> Any:
        # aiohttp's hook after Range and conditionals, just before the head: the one place where
        # the exact span is known and the head can still say it travels by descriptor.
        grant = handover.offer(request.headers, fobj.fileno(), offset, count)
        if grant is None:
            return await super()._sendfile(request, fobj, offset, count)
        self.content_length = 0
        self.headers[handover.HEADER] = grant
        return await web.StreamResponse.prepare(self, request)

    @property
    def last_modified(self) -> Any:
        return self.headers.get(hdrs.LAST_MODIFIED)

    @last_modified.setter
    def last_modified(self, value: Any) -> None:
        self.headers[hdrs.LAST_MODIFIED] = email.utils.formatdate(self._node.mtime / 1e9, usegmt=True)


class StreamedBlob(web.StreamResponse):
    """A blob read by span and written as it arrives; the body is written in `prepare`, as FileResponse does,
    so every path that relays a data server's answer (the in-process hop, ocdav, the proxy) streams it."""

    def __init__(self, reader: RangeReader, node: Node) -> None:
        super().__init__(headers=node_headers(node))
        self._reader = reader
        self._node = node

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self.prepared:  # sent already on the in-process hop (see _BlobResponse)
            return await super().prepare(request)
        size = self._reader.size
        found = span(_plain_request(request, self._node), size)
        if found is None:
            self.headers[hdrs.CONTENT_RANGE] = f"bytes */{size}"
            self.set_status(416)
            return await super().prepare(request)
        offset, count, partial = found
        self.headers[hdrs.ACCEPT_RANGES] = "bytes"
        self.headers[hdrs.LAST_MODIFIED] = email.utils.formatdate(self._node.mtime / 1e9, usegmt=True)
        if partial:
            self.set_status(206)
            self.headers[hdrs.CONTENT_RANGE] = f"bytes {offset}-{offset + count - 1}/{size}"
        self.content_length = count
        writer = await super().prepare(request)
        if count and not must_be_empty_body(request.method, self.status):
            sent = 0
            async with aclosing(self._reader.read(offset, count)) as pieces:  # a client gone: the read ends too
                async for piece in pieces:
                    sent += len(piece)
                    await self.write(piece)
            if sent != count:  # the head promised `count`: the connection must not look complete
                raise ConnectionError(f"the blob store gave {sent} of {count} bytes")
        return writer


def span(request: web.BaseRequest, size: int) -> tuple[int, int, bool] | None:
    """(offset, count, partial) of the bytes Range asks of `size` (all of them without Range); None: 416.

    The arithmetic is aiohttp FileResponse's, so a streamed blob answers as a sendfile one.
    """
    try:
        rng = request.http_range
    except ValueError:
        return None
    start, end = rng.start, rng.stop
    if start is None:
        return 0, size, False
    if start < 0 and end is None:  # the last -start bytes
        start = max(start + size, 0)
        count = size - start
    else:
        count = min(end if end is not None else size, size) - start
    return (start, count, True) if start < size else None


def _etags(value: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in value.split(",")}


def _condition(request: web.Request, node: Node) -> int | None:
    """412 or 304 when a conditional header says so (RFC 9110 §13.2.2 order), else None."""
    etag, seconds = f'"{node.etag}"', node.mtime // 1_000_000_000
    if (im := request.headers.get(hdrs.IF_MATCH)) is not None:
        if im.strip() != "*" and etag not in _etags(im):
            return 412
    elif (unmodified := request.if_unmodified_since) is not None and seconds > unmodified.timestamp():
        return 412
    if (inm := request.headers.get(hdrs.IF_NONE_MATCH)) is not None:
        if inm.strip() == "*" or etag in _etags(inm):
            return 304
    elif (since := request.if_modified_since) is not None and seconds <= since.timestamp():
        return 304
    return None


def _plain_request(request: web.BaseRequest, node: Node) -> web.BaseRequest:
    """Drop conditionals we answered ourselves; keep Range only if If-Range (if any) names our etag."""
    headers = request.headers.copy()
    for name in (hdrs.IF_NONE_MATCH, hdrs.IF_MATCH, hdrs.IF_MODIFIED_SINCE, hdrs.IF_UNMODIFIED_SINCE, hdrs.IF_RANGE):
        headers.popall(name, None)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range.strip() != f'"{node.etag}"':
        headers.popall(hdrs.RANGE, None)
    plain = request.clone(headers=headers)
    for attr in type(request).ATTRS - web.Request.ATTRS:  # a subclass's own (the proxy's prepare hook) stay
        setattr(plain, attr, getattr(request, attr, None))
    return plain
