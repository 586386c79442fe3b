"""The OCS envelope: `{"ocs": {"meta": ..., "data": ...}}` as JSON or XML, v1 or v2 status rules.

Every extension that answers an OCS API (frontend, ocs, sharing) answers through `respond`.

v1 answers HTTP 200 with `statuscode` 100 on success and carries failures in
`meta` (HTTP 200, but 401 for 997), as ownCloud 10 did; v2 reports 200, 401,
404, 500 or 400 in both `statuscode` and the HTTP status. `?format=json` (or an Accept header
asking for JSON) selects JSON; XML otherwise. XML writes booleans as `1`/`0`, as
ownCloud's PHP did (clients parse capabilities that way); JSON keeps `true`/`false`.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.config.schema import format_size

# ownCloud's OCS codes (v1 numbering) and how v2 reports them.
OK = 100
INVALID = 101
EXISTS = 102
SERVER_ERROR = 996
UNAUTHORISED = 997
NOT_FOUND = 998
# The share API's codes, the same in v1 (HTTP 200) and v2.
BAD_REQUEST, FORBIDDEN, MISSING = 400, 403, 404
_V2_CODE = {
    OK: 200,
    UNAUTHORISED: 401,
    NOT_FOUND: 404,
    SERVER_ERROR: 500,
    BAD_REQUEST: 400,
    FORBIDDEN: 403,
    MISSING: 404,
}
MESSAGES = {OK: "OK", INVALID: "Invalid input", EXISTS: "Already exists", SERVER_ERROR: "Server error"}
MESSAGES |= {UNAUTHORISED: "Unauthorised", NOT_FOUND: "Not found"}


def version_of(request: web.Request) -> int:
    return 2 if request.path.startswith("/ocs/v2.php") else 1


def wants_json(request: web.Request) -> bool:
    fmt = request.query.get("format", "").lower()
    if fmt:
        return fmt == "json"
    return "application/json" in request.headers.get("Accept", "")


def _xml(value: Any, indent: str = "  ") -> str:
    if isinstance(value, dict):
        inner = "".join(f"{indent}<{k}>{_xml(v, indent + '  ')}</{k}>\n" for k, v in value.items())
        return "\n" + inner + indent[:-2] if inner else ""
    if isinstance(value, list):
        inner = "".join(f"{indent}<element>{_xml(v, indent + '  ')}</element>\n" for v in value)
        return "\n" + inner + indent[:-2] if inner else ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return escape("" if value is None else str(value))


def respond(request: web.Request, data: Any, code: int = OK, message: str = "") -> web.Response:
    """Wrap `data` in the envelope; `code` is an OCS v1 code, translated for v2."""
    v = version_of(request)
    shown = _V2_CODE.get(code, 400) if v == 2 else code
    meta = {
        "status": "ok" if code == OK else "failure",
        "statuscode": shown,
        "message": message or MESSAGES.get(code, ""),
        "totalitems": "",
        "itemsperpage": "",
    }
    # v1 answers 200 except for 401, as ownCloud 10 did; v2 mirrors its code.
    http_status = shown if v == 2 else (401 if code == UNAUTHORISED else 200)
    if wants_json(request):
        body = json.dumps({"ocs": {"meta": meta, "data": data if data is not None else {}}})
        return web.Response(text=body, status=http_status, content_type="application/json")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ocs>\n'
        f"  <meta>{_xml(meta, '    ')}</meta>\n  <data>{_xml(data, '    ')}</data>\n</ocs>\n"
    )
    return web.Response(text=xml, status=http_status, content_type="text/xml", charset="utf-8")


def quota_object(reply: pb.GetQuotaResponse) -> dict[str, Any]:
    """ownCloud's `quota` of a user from its personal space's GetQuota; unlimited reports what the storage can take."""
    total = reply.used + reply.remaining if reply.unlimited else reply.total
    if reply.inherited:
        definition = "default"  # follows the configured quota
    else:
        definition = "none" if reply.unlimited else format_size(reply.total)
    return {
        "free": reply.remaining,
        "used": reply.used,
        "total": total,
        "relative": round(100 * reply.used / total, 2) if total else 0,
        "definition": definition,
    }
