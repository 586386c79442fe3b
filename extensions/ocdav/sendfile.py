"""Same-host fast path for GET/HEAD: sendfile the storage's blob ourselves, skipping the data server hop.

The storage names the blob (`local_path`) only when it lives on a local disk;
blobs are immutable per revision, and a replaced one is deleted, so a missing
file or a size that does not match means "ask the data server instead".
Conditionals and Range are answered with the resource's etag and mtime. A
proxy on this host that asks for it gets the open blob instead of its bytes
(ocisd/handover.py).
"""

from __future__ import annotations

import os
import re
from email.utils import parsedate_to_datetime

from aiohttp import web

from ocisd import handover
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.httpd import send_file_span

from . import xml
from .errors import DavError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SMALL = 64 * 1024


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _etags(value: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in value.split(",")]


def condition(request: web.Request, etag: str, mtime: float) -> int | None:
    """412 or 304 when a conditional header says so (RFC 9110 §13.2.2 order), else None."""
    headers = request.headers
    if (im := headers.get("If-Match")) is not None:
        if im.strip() != "*" and etag not in _etags(im):
            return 412
    elif (since := _date(headers.get("If-Unmodified-Since"))) is not None and int(mtime) > since:
        return 412
    if (inm := headers.get("If-None-Match")) is not None:
        if inm.strip() == "*" or etag in _etags(inm):
            return 304
    elif (since := _date(headers.get("If-Modified-Since"))) is not None and int(mtime) <= since:
        return 304
    return None


def byte_range(request: web.Request, size: int, etag: str, mtime: float) -> tuple[int, int] | None:
    """(offset, count) of a single satisfiable `Range`, None for the whole file; 416 when unsatisfiable."""
    value = request.headers.get("Range", "").replace(" ", "")
    if not value:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag and (_date(if_range) or -1) < int(mtime):
        return None
    m = _RANGE.match(value)
    if m is None or m.groups() == ("", ""):
        return None  # several ranges or a syntax we do not serve partially: the whole file
    first, last = m.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        raise DavError(416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end - start + 1


def _open(path: str, size: int) -> int | None:
    """A descriptor of the blob (closed by send()), or None when it is gone or not the expected file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    if os.fstat(fd).st_size != size:
        os.close(fd)
        return None
    return fd


async def send(request: web.Request, path: str, info: pb.ResourceInfo) -> web.StreamResponse | None:
    """Answer from the local blob; None when it is gone (the caller then uses the data server)."""
    fd = _open(path, info.size)
    if fd is None:
        return None
    try:
        etag, mtime = f'"{info.etag}"', info.mtime_ns / 1e9
        headers = {
            "ETag": etag,
            "OC-ETag": etag,
            "OC-FileId": info.id,
            "Last-Modified": xml.http_date(mtime),
            "Accept-Ranges": "bytes",
        }
        if info.checksums.sha1:
            headers["OC-Checksum"] = f"SHA1:{info.checksums.sha1}"
        status = condition(request, etag, mtime)
        if status == 304:
            return web.Response(status=304, headers=headers)
        if status == 412:
            raise DavError(412, "precondition failed", headers=headers)
        part = byte_range(request, info.size, etag, mtime)
        offset, count = part if part is not None else (0, info.size)
        if part is not None:
            headers["Content-Range"] = f"bytes {offset}-{offset + count - 1}/{info.size}"
        headers["Content-Type"] = info.mime_type or "application/octet-stream"
        status = 206 if part is not None else 200
        if count <= SMALL and request.method == "GET":  # one write beats the event-loop round trips of sendfile
            return web.Response(status=status, body=os.pread(fd, count, offset), headers=headers)
        if request.method == "GET" and (grant := handover.offer(request.headers, fd, offset, count)) is not None:
            headers[handover.HEADER] = grant  # the proxy on this host sends the span itself
            return web.Response(status=status, headers=headers)
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = count
        await resp.prepare(request)
        if request.method != "HEAD" and count:
            await send_file_span(request, resp, fd, offset, count)
        await resp.write_eof()
        return resp
    finally:
        os.close(fd)
