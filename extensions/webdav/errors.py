"""The error answers of the preview endpoint: a status with a Sabre XML body, as ocdav answers."""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

EXCEPTIONS = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    425: "TooEarly",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


class PreviewError(Exception):
    """An answer other than a preview; `headers` go with it (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> web.Response:
        """The answer; aiohttp sends a HEAD request its headers only."""
        exception = "Sabre\\DAV\\Exception" + (f"\\{EXCEPTIONS[self.status]}" if self.status in EXCEPTIONS else "")
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
            f"<s:exception>{escape(exception)}</s:exception><s:message>{escape(self.message)}</s:message></d:error>"
        )
        headers = {"Content-Type": "application/xml; charset=utf-8", **self.headers}
        return web.Response(status=self.status, body=body.encode(), headers=headers)
