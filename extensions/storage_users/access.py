"""Who is calling, and the gRPC status a storage error maps to.

The server interceptor every `Context.serve_grpc` installs (`ocisd.authz`)
verifies the internal token and sets `identity.CURRENT`; `caller` reads it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from ocisd import identity

from . import errors

REASON_METADATA = "ocisd-reason"

STATUS = {
    errors.Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    errors.Kind.EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    errors.Kind.PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Kind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    errors.Kind.QUOTA: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Kind.LOCKED: grpc.StatusCode.ABORTED,
    errors.Kind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Kind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    errors.Kind.UNSUPPORTED: grpc.StatusCode.UNIMPLEMENTED,
}

R = TypeVar("R")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]


def caller() -> identity.Identity:
    who = identity.CURRENT.get()
    if who is None:
        raise errors.StorageError(errors.Kind.UNAUTHENTICATED, "token", "no verified internal token")
    return who


async def abort(context: grpc.aio.ServicerContext, exc: errors.StorageError) -> None:
    await context.abort(
        STATUS[exc.kind], f"{exc.reason}: {exc.message}", trailing_metadata=((REASON_METADATA, exc.reason),)
    )


def handled(method: Handler[R]) -> Handler[R]:
    """Turn a `StorageError` raised by a servicer method into its gRPC status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except errors.StorageError as exc:
            await abort(context, exc)
            raise AssertionError("unreachable") from None

    return wrapper
