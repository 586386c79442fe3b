"""Upload bodies to the storage's data server: in-process when its app runs here, else over HTTP.

PUT and the upload sessions (chunking NG, TUS) stream the client's body to a
signed data URL. When that URL names a data server whose aiohttp application
runs in this very process (the runtime), the core's in-process hop
(`ocisd.local_http`) gives it a clone of our request (the signed URL's path,
the headers we would have sent, the same streaming body): the body is read
once, from the client's socket straight into the storage sink, with no second
HTTP parse and no copy through a loopback socket. Either way the caller gets
the same `Answer`, so errors map identically.
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

from ocisd.httpd import body_pieces
from ocisd.local_http import LocalHttp
from ocisd.logs import get_logger

from .errors import DavError

log = get_logger("ocdav")


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
    """Sends a request's body to a signed data URL, by hand-over when the data server is local."""

    def __init__(self, http: aiohttp.ClientSession, hop: LocalHttp, metrics: CollectorRegistry) -> None:
        self._http = http
        self._hop = hop
        self._sent = Counter(
            "ocdav_upload_transfers",
            "Upload bodies sent to a data server, by path: local (handed over in-process) or http.",
            ["path"],
            registry=metrics,
        )

    def _local_app(self, url: str) -> web.Application | None:
        parts = urlsplit(url)
        return self._hop.app_at(parts.netloc) if parts.scheme == "http" else None

    async def send(self, request: web.Request, method: str, url: str, headers: Mapping[str, str]) -> Answer:
        """Stream `request`'s body to `url` with `headers` (plus its Content-Length, if any)."""
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


async def _hand_over(
    hop: LocalHttp, app: web.Application, request: web.Request, method: str, url: str, headers: CIMultiDict[str]
) -> Answer:
    """The local app's answer to a clone of `request` aimed at `url`'s path and query.

    The data server's upload handlers answer with unprepared responses (JSON or
    empty), so nothing of theirs reaches our client's socket.
    """
    parts = urlsplit(url)
    target = URL.build(path=parts.path, query_string=parts.query, encoded=True)
    local = hop.clone(app, request, method=method, rel_url=target, headers=headers)
    try:
        resp = await hop.handle(app, local)
    except Exception:
        if request.content.exception() is not None:  # our client's body broke off: nobody to answer
            raise
        log.error("data server failed", exc_info=True, method=method)  # as its own server would: 500
        return Answer(500, CIMultiDictProxy(CIMultiDict()), {})
    body = resp.body if isinstance(resp, web.Response) else None
    return Answer(resp.status, CIMultiDictProxy(resp.headers), _json_object(body if isinstance(body, bytes) else b""))
