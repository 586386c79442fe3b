"""`/api/v0/settings/*`: the JSON API oCIS serves (POST, the caller from the internal token).

Thin: each endpoint parses its body, calls this service's own gRPC (through the
client factory, so authorization lives in one place) and answers in oCIS's
shapes (`ocis_json`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import grpc
import grpc.aio
from aiohttp import web

from ocisd.api.settings.v1 import settings_pb2, settings_pb2_grpc
from ocisd.rpc.client import RpcClients

from . import ocis_json

PREFIX = "/api/v0/settings/"
STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}

Body = dict[str, Any]
Endpoint = Callable[[Any, Body], Awaitable[Body]]


class BadRequest(Exception):
    """The body is not what the endpoint takes."""


def _error(status: int, detail: str) -> web.Response:
    phrase = HTTPStatus(status).phrase
    return web.json_response(
        {"id": "ocisd.settings", "code": status, "detail": detail, "status": phrase}, status=status
    )


def _text(body: Body, *names: str) -> str:
    """The first of `names` present in `body` (oCIS takes snake_case and camelCase), a string or ""."""
    for name in names:
        if name in body:
            if not isinstance(body[name], str):
                raise BadRequest(f"{name} must be a string")
            return "" if body[name] == "me" else body[name]
    return ""


async def _roles_list(stub: Any, body: Body) -> Body:
    reply = await stub.ListRoles(settings_pb2.ListRolesRequest())
    return {"bundles": [ocis_json.role(r) for r in reply.roles]}


async def _bundles_list(stub: Any, body: Body) -> Body:
    reply = await stub.ListBundles(settings_pb2.ListBundlesRequest())
    return {"bundles": [ocis_json.bundle(b) for b in reply.bundles]}


async def _assignments_list(stub: Any, body: Body) -> Body:
    request = settings_pb2.ListRoleAssignmentsRequest(account_id=_text(body, "account_uuid", "accountUuid"))
    reply = await stub.ListRoleAssignments(request)
    return {"assignments": [ocis_json.assignment(a) for a in reply.assignments]}


async def _assignments_add(stub: Any, body: Body) -> Body:
    account = _text(body, "account_uuid", "accountUuid")
    request = settings_pb2.AssignRoleRequest(account_id=account, role_id=_text(body, "role_id", "roleId"))
    return {"assignment": ocis_json.assignment(await stub.AssignRole(request))}


async def _permissions_list(stub: Any, body: Body) -> Body:
    request = settings_pb2.ListPermissionsRequest(account_id=_text(body, "account_uuid", "accountUuid"))
    reply = await stub.ListPermissions(request)
    return {"permissions": [p.name for p in reply.permissions]}


async def _values_list(stub: Any, body: Body) -> Body:
    account, bundle = _text(body, "account_uuid", "accountUuid"), _text(body, "bundle_id", "bundleId")
    reply = await stub.ListValues(settings_pb2.ListValuesRequest(account_id=account, bundle_id=bundle))
    return {"values": [ocis_json.value(v) for v in reply.values]}


async def _values_get(stub: Any, body: Body) -> Body:
    if not (vid := _text(body, "id")):
        raise BadRequest("id is required")
    return {"value": ocis_json.value(await stub.GetValue(settings_pb2.GetValueRequest(id=vid)))}


async def _values_save(stub: Any, body: Body) -> Body:
    try:
        value = ocis_json.parse_value(body.get("value"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return {"value": ocis_json.value(await stub.SaveValue(settings_pb2.SaveValueRequest(value=value)))}


ENDPOINTS: dict[str, Endpoint] = {
    "roles-list": _roles_list,
    "bundles-list": _bundles_list,
    "assignments-list": _assignments_list,
    "assignments-add": _assignments_add,
    "permissions-list": _permissions_list,
    "values-list": _values_list,
    "values-get": _values_get,
    "values-save": _values_save,
}


def make_app(rpc: RpcClients) -> web.Application:
    stub = rpc.stub("settings", settings_pb2_grpc.SettingsStub)

    def handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                return _error(400, "the body must be JSON")
            if not isinstance(body, dict):
                return _error(400, "the body must be a JSON object")
            try:
                return web.json_response(await endpoint(stub, body))
            except BadRequest as exc:
                return _error(400, str(exc))
            except grpc.aio.AioRpcError as exc:
                return _error(STATUS.get(exc.code(), 502), exc.details() or exc.code().name)

        return handle

    app = web.Application(client_max_size=256 * 1024)
    for name, endpoint in ENDPOINTS.items():
        app.router.add_post(PREFIX + name, handler(endpoint))
    return app
