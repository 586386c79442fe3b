"""The data server: PUT and GET/HEAD on signed URLs (`/data/<token>`), bytes never in gRPC.

PUT streams the body into the driver's upload sink (the local one writes and
hashes on worker threads while the next chunk arrives), then the driver
commits; the answer comes only after the commit. GET and HEAD serve the blob
with sendfile, Range and conditionals, or hand the open blob to a proxy on this
host (ocisd/handover.py): ocdav's downloads come here too, so no other process
ever opens a blob by a path it was told.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import aiohttp
from aiohttp import hdrs, web
from prometheus_client import CollectorRegistry, Counter

from ocisd import handover
from ocisd.api.postprocessing.v1.contract import REASON_BLOCKED, REASON_PROCESSING, RETRY_AFTER_SECONDS
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1.contract import external_id
from ocisd.httpd import body_pieces
from ocisd.storage.driver import Base, UploadSink
from ocisd.storage.resources import Node, UploadOptions

from . import transfer
from .used_urls import UsedUrls

READ_BUFFER = 4 << 20
# A request body goes on as lists of the pieces aiohttp buffered, never joined (no copy).
BATCH = 2 << 20  # bytes handed on at once: few thread hand-offs, little memory per upload

HTTP_STATUS = {
    errors.Kind.NOT_FOUND: 404,
    errors.Kind.EXISTS: 412,
    errors.Kind.FORBIDDEN: 403,
    errors.Kind.QUOTA: 507,
    errors.Kind.LOCKED: 423,
    errors.Kind.INVALID: 400,
    errors.Kind.UNAUTHENTICATED: 401,
    errors.Kind.UNSUPPORTED: 501,
    errors.Kind.UNAVAILABLE: 503,
}
PRECONDITION_STATUS = {"etag-mismatch": 412, "if-none-match": 412, REASON_PROCESSING: 425, REASON_BLOCKED: 403}


async def batches(content: aiohttp.StreamReader, limit: int = -1, size: int = BATCH) -> AsyncIterator[list[bytes]]:
    """Lists of pieces of about `size` bytes; more than `limit` bytes (if >= 0) stops at once."""
    pieces: list[bytes] = []
    pending = received = 0
    async for piece in body_pieces(content):
        received += len(piece)
        if 0 <= limit < received:
            raise errors.invalid("size-mismatch", f"announced {limit} bytes, body is longer")
        pieces.append(piece)
        pending += len(piece)
        if pending >= size:
            yield pieces
            pieces, pending = [], 0
    if pieces:
        yield pieces


def error_response(exc: errors.StorageError) -> web.Response:
    status = PRECONDITION_STATUS.get(exc.reason, 409) if exc.kind == errors.Kind.PRECONDITION else HTTP_STATUS[exc.kind]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status in (425, 503) else None
    return web.json_response({"reason": exc.reason, "message": exc.message}, status=status, headers=headers)


def disk_full(exc: OSError) -> web.Response:
    """507 disk-full for ENOSPC/EDQUOT; any other OSError is re-raised."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    return error_response(errors.StorageError(errors.Kind.QUOTA, "disk-full", "the storage disk is full"))


def _headers(node: Node) -> dict[str, str]:
    return {
        "ETag": f'"{node.etag}"',
        "OC-ETag": f'"{node.etag}"',
        "OC-FileId": external_id(node.space, node.id),
        "OC-Checksum": f"SHA1:{node.sha1}",
    }


def _mtime_header(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(float(value) * 1e9)
    except ValueError:
        raise errors.invalid("bad-mtime", f"X-OC-Mtime must be unix seconds, got {value!r}") from None


async def _receive(request: web.Request, sink: UploadSink, limit: int) -> None:
    """Stream the body into `sink`; more than `limit` bytes (if >= 0) stops it at once."""
    async for pieces in batches(request.content, limit):
        await sink.write(pieces)


class _BlobResponse(web.FileResponse):
    """sendfile with Range, but our etag and mtime instead of the blob file's; or a hand-over to the proxy."""

    def __init__(self, path: Path, node: Node) -> None:
        super().__init__(path, headers=_headers(node))
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


def _url_used() -> errors.StorageError:
    """An upload URL commits once (`used_urls`)."""
    return errors.StorageError(errors.Kind.FORBIDDEN, "url-used", "this upload URL was used already")


def make_app(driver: Base, transfer_secret: str, metrics: CollectorRegistry) -> web.Application:
    used = UsedUrls(driver.data_dir / "used-urls.db", driver.sql)
    uploads = Counter("storage_uploads", "Uploads to the data server by HTTP status.", ["status"], registry=metrics)
    upload_bytes = Counter("storage_upload_bytes", "Bytes of committed uploads.", registry=metrics)
    downloads = Counter(
        "storage_downloads", "Downloads from the data server by HTTP status.", ["status"], registry=metrics
    )

    async def upload(request: web.Request) -> web.StreamResponse:
        response = await _upload(request)
        uploads.labels(status=str(response.status)).inc()
        return response

    async def download(request: web.Request) -> web.StreamResponse:
        response = await _download(request)
        downloads.labels(status=str(response.status)).inc()
        return response

    async def _upload(request: web.Request) -> web.StreamResponse:
        try:
            claims = transfer.verify(transfer_secret, request.match_info["token"], "upload")
            url_id = str(claims.get("jti", ""))
            if not url_id or await used.used(url_id):  # refused before the body travels
                raise _url_used()
            ref = transfer.claims_ref(claims)
            opts = UploadOptions(**{**claims["opts"], "lock_tokens": tuple(claims["opts"]["lock_tokens"])})
            # The client's checksum and mtime may also arrive on the PUT itself.
            mtime = _mtime_header(request.headers.get("X-OC-Mtime"))
            opts = replace(
                opts, checksum=request.headers.get("OC-Checksum") or opts.checksum, mtime=mtime or opts.mtime
            )
            if opts.size >= 0 and request.content_length is not None and request.content_length != opts.size:
                raise errors.invalid("size-mismatch", f"announced {opts.size} bytes, body has {request.content_length}")
            await driver.check_upload(ref, opts)
            sink = await driver.open_upload()
            try:
                await _receive(request, sink, opts.size)
                if not await used.consume(url_id, int(claims["exp"])):  # a concurrent PUT committed first
                    raise _url_used()
            except BaseException:
                await sink.abort()
                raise
            node, created = await driver.commit_upload(ref, opts, sink)
        except errors.StorageError as exc:
            return error_response(exc)
        except OSError as exc:
            return disk_full(exc)
        upload_bytes.inc(node.size)
        body = {
            "id": external_id(node.space, node.id),
            "etag": node.etag,
            "size": node.size,
            "mtime_ns": node.mtime,
            "checksums": {"sha1": node.sha1, "md5": node.md5, "adler32": node.adler32},
            "created": created,
        }
        return web.json_response(body, status=201 if created else 200, headers=_headers(node))

    async def _download(request: web.Request) -> web.StreamResponse:
        try:
            claims = transfer.verify(transfer_secret, request.match_info["token"], "download")
            ref = transfer.claims_ref(claims)
            key = str(claims.get("version", ""))  # a kept version of the file
            rev = str(claims.get("rev", ""))  # a postprocessing step's revision (checked again: it may be gone)
            fetch = (lambda: driver.download_version(ref, key)) if key else (lambda: driver.download(ref, rev))
            node, path = await fetch()
            if path is not None and not path.exists():  # replaced or pruned (and collected) just now
                node, path = await fetch()
        except errors.StorageError as exc:
            return error_response(exc)
        if (status := _condition(request, node)) is not None:
            resp = web.Response(status=status, headers=_headers(node))
            resp.last_modified = node.mtime / 1e9
            return resp
        if path is None:
            resp = web.Response(body=b"", headers=_headers(node), content_type=node.mime)
            resp.last_modified = node.mtime / 1e9
            return resp
        blob = _BlobResponse(path, node)
        blob.content_type = node.mime
        return blob

    # A deep read buffer: the body streams in without pausing the socket every 128 KiB.
    app = web.Application(client_max_size=1 << 20, handler_args={"read_bufsize": READ_BUFFER})
    app.on_cleanup.append(lambda _: asyncio.to_thread(used.close))
    app.router.add_put("/data/{token}", upload)
    app.router.add_get("/data/{token}", download)
    return app
