"""Bytes to and from the storages' data servers: in-process when the app runs here, else over HTTP.

PUT and the upload sessions (chunking NG, TUS) stream the client's body to a
signed data URL; GET and HEAD are answered by the data server too (it sends
the blob, or hands it to the proxy on its host: ocisd/handover.py), so ocdav
never opens a file by a path someone told it.

A data URL comes in a storage provider's answer, and a provider is whoever
announced itself on the bus: it is fetched only under the `data` address that
a registered storage instance announced (what `Transfers` signs URLs with), so
a forged answer cannot aim ocdav at another port of this host.

When the URL names a data server whose aiohttp application runs in this very
process (the runtime), the core's in-process hop (`ocisd.local_http`) gives it
a clone of our request (the signed URL's path, the headers we would have sent,
the same streaming body): an upload body is read once, from the client's
socket straight into the storage sink, with no second HTTP parse and no copy
through a loopback socket. Either way the caller gets the same `Answer`, so
errors map identically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from prometheus_client import CollectorRegistry, Counter
from yarl import URL

from ocisd import handover
from ocisd.api.storage.v1.contract import data_origin
from ocisd.bus.registry import Registry
from ocisd.httpd import body_pieces
from ocisd.local_http import LocalHttp
from ocisd.logs import get_logger

from .errors import DavError

log = get_logger("ocdav")

# What a download passes on to the data server, and back to our client.
FORWARD_REQUEST = (
    "Range",
    "If-Range",
    "If-None-Match",
    "If-Modified-Since",
    "If-Match",
    "If-Unmodified-Since",
    handover.HEADER,  # the proxy's mailbox: the data server hands it the blob
)
FORWARD_RESPONSE = (
    "ETag",
    "OC-ETag",
    "Last-Modified",
    "Content-Length",
    "Content-Type",
    "Content-Range",
    "Accept-Ranges",
    "OC-Checksum",
    "OC-FileId",
    handover.HEADER,  # the span the proxy sends from the blob; our body is empty
)


@dataclass(frozen=True)
class Answer:
    """The data server's answer: status, headers and its JSON object ({} when the body is none)."""

    status: int
    headers: CIMultiDictProxy[str]
    payload: dict[str, Any]


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class DataServers:
    """Sends a request's body to a signed data URL, or answers a download; in-process when the server is."""

    def __init__(
        self, http: aiohttp.ClientSession, hop: LocalHttp, registry: Registry, metrics: CollectorRegistry
    ) -> None:
        self._http = http
        self._hop = hop
        self._registry = registry
        self._sent = Counter(
            "ocdav_upload_transfers",
            "Upload bodies sent to a data server, by path: local (handed over in-process) or http.",
            ["path"],
            registry=metrics,
        )
        self._fetched = Counter(
            "ocdav_download_transfers",
            "Downloads asked of a data server, by path: local (in-process) or http.",
            ["path"],
            registry=metrics,
        )

    async def _checked(self, url: str) -> None:
        """Refuse (502) a URL outside every registered storage instance's announced data address."""
        if await data_origin(self._registry, url) is None:
            log.warning("data URL refused: no registered storage announced its address", origin=urlsplit(url).netloc)
            raise DavError(502, "the storage answered with a data URL outside its data address")

    def _local_app(self, url: str) -> web.Application | None:
        parts = urlsplit(url)
        return self._hop.app_at(parts.netloc) if parts.scheme == "http" else None

    async def send(self, request: web.Request, method: str, url: str, headers: Mapping[str, str]) -> Answer:
        """Stream `request`'s body to `url` with `headers` (plus its Content-Length, if any)."""
        await self._checked(url)
        sent = CIMultiDict(headers)
        if request.content_length is not None:
            sent["Content-Length"] = str(request.content_length)
        app = self._local_app(url)
        if app is not None:
            self._sent.labels("local").inc()
            return await _hand_over(self._hop, app, request, method, url, sent)
        self._sent.labels("http").inc()
        try:
            async with self._http.request(method, url, data=body_pieces(request.content), headers=sent) as up:
                return Answer(up.status, up.headers, _json_object(await up.read()))
        except aiohttp.ClientError as exc:
            raise DavError(503, f"data server unreachable: {exc}") from None

    async def download(self, request: web.Request, url: str) -> web.StreamResponse:
        """Answer the GET or HEAD `request` with the data server's answer for the download `url`."""
        await self._checked(url)
        forward = CIMultiDict((h, v) for h in FORWARD_REQUEST if (v := request.headers.get(h)))
        app = self._local_app(url)
        if app is not None:
            self._fetched.labels("local").inc()
            local = self._hop.clone(app, request, rel_url=_target(url), headers=forward)
            resp = await self._hop.handle(app, local)
            _check_status(resp.status)
            # Prepared with our request, as our own answer: a blob sends (or hands over) its span here.
            await resp.prepare(request)
            await resp.write_eof()
            return resp
        self._fetched.labels("http").inc()
        try:
            async with self._http.request(request.method, url, headers=forward) as up:
                _check_status(up.status)
                headers = CIMultiDict((h, v) for h in FORWARD_RESPONSE if (v := up.headers.get(h)))
                resp = web.StreamResponse(status=up.status, headers=headers)
                await resp.prepare(request)
                if request.method != "HEAD" and up.status not in (304, 412):
                    async for chunk in body_pieces(up.content):
                        await resp.write(chunk)
                await resp.write_eof()
                return resp
        except aiohttp.ClientError as exc:
            raise DavError(503, f"data server unreachable: {exc}") from None


def _check_status(status: int) -> None:
    """A failed download as ours: 404, 403 (blocked), 425 (processing) and 503 (its blob store is away)
    stay, 412 and 416 pass on, anything else is the data server's fault."""
    if status >= 400 and status not in (412, 416):
        raise DavError(status if status in (403, 404, 425, 503) else 502, f"data server answered {status}")


def _target(url: str) -> URL:
    parts = urlsplit(url)
    return URL.build(path=parts.path, query_string=parts.query, encoded=True)


async def _hand_over(
    hop: LocalHttp, app: web.Application, request: web.Request, method: str, url: str, headers: CIMultiDict[str]
) -> Answer:
    """The local app's answer to a clone of `request` aimed at `url`'s path and query.

    The data server's upload handlers answer with unprepared responses (JSON or
    empty), so nothing of theirs reaches our client's socket.
    """
    local = hop.clone(app, request, method=method, rel_url=_target(url), headers=headers)
    try:
        resp = await hop.handle(app, local)
    except Exception:
        if request.content.exception() is not None:  # our client's body broke off: nobody to answer
            raise
        log.error("data server failed", exc_info=True, method=method)  # as its own server would: 500
        return Answer(500, CIMultiDictProxy(CIMultiDict()), {})
    body = resp.body if isinstance(resp, web.Response) else None
    return Answer(resp.status, CIMultiDictProxy(resp.headers), _json_object(body if isinstance(body, bytes) else b""))
