"""A directory service's gRPC answers: an `IdentityError` becomes its status code and `ocisd-reason`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc.aio

from ocisd.api.identity.contract import REASON_METADATA, STATUS, IdentityError

T = TypeVar("T")
Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[T]]


def handled(method: Method[T]) -> Method[T]:
    """Answer the identity errors a servicer method raises with their status (their messages hold no secret)."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await method(self, request, context)
        except IdentityError as exc:
            reason = ((REASON_METADATA, exc.kind.value),)
            await context.abort(STATUS[exc.kind], exc.details(), trailing_metadata=reason)
            raise  # abort raises; this keeps type checkers content

    return wrapper
