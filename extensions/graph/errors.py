"""Graph error JSON `{"error": {"code", "message"}}`, and what a peer's gRPC status becomes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from aiohttp import web


class GraphError(Exception):
    """An answer other than success: its HTTP status and Graph error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def bad_request(message: str) -> GraphError:
    return GraphError(400, "invalidRequest", message)


def forbidden(message: str = "permission denied") -> GraphError:
    return GraphError(403, "accessDenied", message)


def not_found(message: str) -> GraphError:
    return GraphError(404, "itemNotFound", message)


_FROM_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalidRequest"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "invalidRequest"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalidRequest"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "accessDenied"),
    grpc.StatusCode.NOT_FOUND: (404, "itemNotFound"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "nameAlreadyExists"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (507, "quotaLimitReached"),
    grpc.StatusCode.UNAVAILABLE: (503, "serviceNotAvailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "serviceNotAvailable"),
}


def from_grpc(exc: grpc.aio.AioRpcError) -> GraphError:
    status, code = _FROM_GRPC.get(exc.code(), (500, "generalException"))
    return GraphError(status, code, exc.details() or exc.code().name.lower())


def answer(error: GraphError) -> web.Response:
    return web.json_response({"error": {"code": error.code, "message": str(error)}}, status=error.status)


@web.middleware
async def graph_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure leaves as Graph error JSON; aiohttp's own 404/405 too."""
    try:
        return await handler(request)
    except GraphError as exc:
        return answer(exc)
    except grpc.aio.AioRpcError as exc:
        return answer(from_grpc(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "itemNotFound", 405: "invalidRequest"}.get(exc.status, "invalidRequest")
        return answer(GraphError(exc.status, code, exc.reason))


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400."""
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def text(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    """A string member of a request body (None when absent and not `required`)."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise bad_request(f"{key} must be a non-empty string" if required else f"{key} must be a string")
    return value
