"""A servicer method's domain errors answered as gRPC statuses: the one decorator every API contract uses.

Each contract says how one of its errors ends a call (status, details, the
`ocisd-reason` trailing metadata); `Answering` applies that to every method it
wraps, so servicers raise domain errors and never build statuses themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

E = TypeVar("E", bound=Exception)
R = TypeVar("R")
Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]


class Answering(Generic[E]):
    """Decorator: an `error` raised by the method ends the call through `abort(context, error)`;
    a ConnectionError ends it UNAVAILABLE."""

    def __init__(self, error: type[E], abort: Callable[[grpc.aio.ServicerContext, E], Awaitable[None]]) -> None:
        self._error = error
        self._abort = abort

    def __call__(self, method: Method[R]) -> Method[R]:
        @functools.wraps(method)
        async def wrapper(servicer: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
            try:
                return await method(servicer, request, context)
            except self._error as exc:
                await self._abort(context, exc)
                raise AssertionError("context.abort raises") from None
            except ConnectionError as exc:  # a database or peer out of reach (ocisd.sql.Unavailable): try later
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
                raise AssertionError("context.abort raises") from None

        return wrapper
