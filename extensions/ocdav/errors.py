"""The one exception a WebDAV handler raises to answer with an error status and a DAV error body."""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from ocisd.api.postprocessing.v1.contract import RETRY_AFTER_SECONDS

# A 503 (a storage instance or the data server it names is down): a supervised restart and the
# registry's next heartbeat take about this long.
UNAVAILABLE_RETRY_SECONDS = 5

REASONS = {
    400: "Sabre\\DAV\\Exception\\BadRequest",
    403: "Sabre\\DAV\\Exception\\Forbidden",
    404: "Sabre\\DAV\\Exception\\NotFound",
    405: "Sabre\\DAV\\Exception\\MethodNotAllowed",
    409: "Sabre\\DAV\\Exception\\Conflict",
    412: "Sabre\\DAV\\Exception\\PreconditionFailed",
    415: "Sabre\\DAV\\Exception\\UnsupportedMediaType",
    425: "Sabre\\DAV\\Exception\\TooEarly",  # the revision is still being processed
    423: "Sabre\\DAV\\Exception\\Locked",
    501: "Sabre\\DAV\\Exception\\NotImplemented",
    503: "Sabre\\DAV\\Exception\\ServiceUnavailable",  # desktop clients stop the run and retry later
    507: "Sabre\\DAV\\Exception\\InsufficientStorage",
}


class DavError(Exception):
    """An HTTP error status, a message, and optionally an RFC 4918 precondition element.

    `condition` is inner XML in the DAV: namespace with the `d:` prefix, e.g.
    `<d:propfind-finite-depth/>` or `<d:lock-token-submitted><d:href>/x</d:href></d:lock-token-submitted>`.
    """

    def __init__(self, status: int, message: str = "", condition: str = "", headers: dict[str, str] | None = None):
        super().__init__(message or str(status))
        self.status = status
        self.message = message
        self.condition = condition
        self.headers = headers or {}
        if status == 425:  # Too Early always says when to come back
            self.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        elif status == 503:  # so does Unavailable: clients back off instead of hammering or giving up
            self.headers.setdefault("Retry-After", str(UNAVAILABLE_RETRY_SECONDS))

    def body(self) -> bytes:
        exception = REASONS.get(self.status, "Sabre\\DAV\\Exception")
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
            f"{self.condition}<s:exception>{escape(exception)}</s:exception>"
            f"<s:message>{escape(self.message)}</s:message></d:error>"
        ).encode()

    def response(self, head: bool = False) -> web.Response:
        body = b"" if head or self.status == 304 else self.body()
        headers = {**self.headers}
        if body:
            headers["Content-Type"] = "application/xml; charset=utf-8"
        return web.Response(status=self.status, body=body, headers=headers)
