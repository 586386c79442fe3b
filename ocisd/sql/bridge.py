"""Synchronous code that awaits coroutines on an event loop: in a greenlet on that loop, else by a hop.

`await run(fn, *args)` runs `fn(*args)` in a greenlet on the caller's loop (the technique of
SQLAlchemy's asyncio support). In there `wait(coro, loop)` switches back to the loop's greenlet,
which awaits `coro` like any coroutine and switches back with its result or exception: no thread,
no hop, and other tasks run meanwhile. Outside such a greenlet (a thread, or synchronous code with
no loop of its own) `wait` hands `coro` to `loop`, running in another thread, and blocks until done.
`offload(fn)` moves a blocking call (an fsync) off the loop when in such a greenlet; `start(coro, loop)`
runs a coroutine nobody waits for on the same loop `wait` would use.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")
_started: set[asyncio.Future[None]] = set()


class _Bridged(greenlet.greenlet):
    """A greenlet `run` started; its parent is the loop's greenlet that awaits for it."""


async def run(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a greenlet on this loop, each `wait` in it awaited here."""
    child = _Bridged(fn, greenlet.getcurrent())
    child.gr_context = contextvars.copy_context()  # the task's context vars (log fields) inside too
    result: Any = child.switch(*args)
    while not child.dead:
        try:
            value = await result
        except BaseException as exc:  # the sync code decides, as if the call raised there
            result = child.throw(exc)
        else:
            result = child.switch(value)
    return result


def wait(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop, timeout: float | None = None) -> T:
    """`coro`'s result: awaited on the loop of the greenlet of `run` we are in, else run on `loop` (which
    runs in another thread) while this thread waits. `timeout` bounds the wait either way."""
    current = greenlet.getcurrent()
    if isinstance(current, _Bridged):
        awaited: Awaitable[T] = coro if timeout is None else asyncio.wait_for(coro, timeout)
        return current.parent.switch(awaited)
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


def start(coro: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> None:
    """Run `coro` without waiting for it: on the loop of the greenlet of `run` we are in, else on `loop`."""
    if isinstance(greenlet.getcurrent(), _Bridged):
        task = asyncio.ensure_future(coro)
        _started.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(_started.discard)
    else:
        asyncio.run_coroutine_threadsafe(coro, loop)


def offload(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, a blocking call (a directory fsync): on a worker thread when called in a greenlet of
    `run`, so the loop goes on meanwhile; else right here (a DB thread is off the loop already)."""
    current = greenlet.getcurrent()
    if isinstance(current, _Bridged):
        return current.parent.switch(asyncio.to_thread(fn, *args))
    return fn(*args)
