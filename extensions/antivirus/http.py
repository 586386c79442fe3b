"""The manual scans API, as the caller (the proxy authenticated them and forwards their token).

POST /api/v0/antivirus/scans {"path": "/Photos"} (the caller's personal space) or
{"space_id": ..., "path": ...} → 202 {"id", "path", "total", "status_url"}: every file
below is queued and the answer comes at once. GET /api/v0/antivirus/scans/{id} → 200
the scan's progress and per-file results; a scan that is not the caller's is 404.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.storage.v1.contract import ID_SEPARATOR
from ocisd.rpc.client import RpcClients

PREFIX = "/api/v0/antivirus/"
SCANS = PREFIX + "scans"
MAX_BODY = 64 * 1024
# gRPC status of a storage answer → HTTP status here (anything else: 502).
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# A scan the caller may not see looks exactly like one that does not exist.
HIDDEN = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _storage_error(exc: grpc.aio.AioRpcError) -> web.Response:
    return _error(HTTP_STATUS.get(exc.code(), 502), exc.details() or exc.code().name)


def report_json(report: pb.ScanReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "path": report.path,
        "created": report.created,
        "total": report.total,
        "done": report.done,
        "infected": report.infected,
        "errors": report.errors,
        "state": "done" if report.done >= report.total else "running",
        "files": [
            {"resource_id": r.resource_id, "path": r.path, "scan_status": r.scan_status, "scan_time": r.scan_time}
            for r in report.results
        ],
    }


def _reference(body: Any) -> pb.Reference | str:
    """The Reference a POST body names, or why it names none."""
    if not isinstance(body, dict):
        return 'body must be a JSON object like {"path": "/Photos"}'
    path, space_id = body.get("path"), body.get("space_id", "")
    if not isinstance(path, str) or not path.startswith("/"):
        return 'field "path" must be an absolute path like "/Photos"'
    if not isinstance(space_id, str):
        return 'field "space_id" must be a string'
    return pb.Reference(space_id=space_id, path=path)


def make_app(rpc: RpcClients) -> web.Application:
    storage = rpc.stub("gateway", storage_pb2_grpc.StorageStub)

    async def create(request: web.Request) -> web.Response:
        try:
            ref = _reference(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            ref = 'body must be JSON like {"path": "/Photos"}'
        if isinstance(ref, str):
            return _error(400, ref)
        try:
            report = await storage.CreateScan(pb.CreateScanRequest(ref=ref))
        except grpc.aio.AioRpcError as exc:
            return _storage_error(exc)
        body = {"id": report.id, "path": report.path, "total": report.total, "status_url": f"{SCANS}/{report.id}"}
        return web.json_response(body, status=202)

    async def status(request: web.Request) -> web.Response:
        scan_id = request.match_info["id"]
        space, sep, _ = scan_id.rpartition(ID_SEPARATOR)
        if not (space and sep):
            return _error(404, "no such scan")
        try:
            report = await storage.GetScan(pb.GetScanRequest(ref=pb.Reference(space_id=space), scan_id=scan_id))
        except grpc.aio.AioRpcError as exc:
            return _error(404, "no such scan") if exc.code() in HIDDEN else _storage_error(exc)
        return web.json_response(report_json(report))

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(SCANS, create)
    app.router.add_get(SCANS + "/{id}", status)
    return app
