"""A backend on a thread of its own: its calls run there one at a time, never on the event loop.

The users, groups, sharing and store backends are synchronous (sqlite3, or
`ocisd.sql`'s PostgreSQL connection, which blocks its caller for a network round
trip). Each extension opens its backend through `Worker.open` and awaits every
call through `run`; one thread per backend keeps the calls in order, so a
backend needs no locking of its own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Closing(Protocol):
    def close(self) -> None: ...


B = TypeVar("B", bound=Closing)


class Worker(Generic[B]):
    """`backend` and the thread that runs its calls."""

    def __init__(self, backend: B, thread: ThreadPoolExecutor) -> None:
        self.backend = backend
        self._thread = thread

    @classmethod
    async def open(cls, name: str, factory: Callable[P, B], *args: P.args, **kwargs: P.kwargs) -> Worker[B]:
        """Build the backend on its thread (connecting and migrating may wait on the network)."""
        thread = ThreadPoolExecutor(1, thread_name_prefix=name)
        try:
            backend = await asyncio.get_running_loop().run_in_executor(
                thread, functools.partial(factory, *args, **kwargs)
            )
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(backend, thread)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on the backend's thread, after the calls before it."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))

    async def close(self) -> None:
        try:
            await self.run(self.backend.close)
        finally:
            self._thread.shutdown(wait=False)
