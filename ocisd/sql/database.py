"""Query functions `fn(db, *args)` run off the caller's path, writes serialised, reads each in one snapshot.

`Database`: on threads, one writer thread (writes serialised, as SQLite needs) and reader threads,
each thread with its own connection; SQLite's way. `LoopDatabase`: PostgreSQL's way, each call in a
greenlet on the caller's event loop (`bridge`), every statement awaited there on the engine's pool for
that loop: no thread and no hop; an asyncio.Lock serialises the writes, readers run side by side,
each on a connection of its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from . import bridge
from .connection import Connection

if TYPE_CHECKING:
    from .engine import Engine

T = TypeVar("T")
Db = Any  # sqlite3.Connection or ocisd.sql.Connection: the query modules use their common surface


class Database:
    def __init__(self, connect: Callable[[], Db], readers: int = 2, name: str = "db") -> None:
        self._connect = connect
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-writer")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix=f"{name}-reader")
        self._local = threading.local()
        self._dbs: list[Db] = []
        self.writer_db: Db = self._writer.submit(self._own).result()

    def _own(self) -> Db:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            self._dbs.append(db)
        return db

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the writer thread; `fn` opens its own transactions."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: fn(self.writer_db, *args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` in one read transaction (a consistent snapshot)."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, lambda: snapshot(self._own(), fn, args))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        for db in self._dbs:
            db.close()


class LoopDatabase:
    """`Database`'s interface for a PostgreSQL engine, on the caller's event loop (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writing = asyncio.Lock()
        self.writer_db = engine.connect()

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(db, *args)` after the writes before it; `fn` opens its own transactions. Like the writer
        thread it replaces, it runs to its end even when the caller is cancelled (no write is cut short
        between its statements and the file operations that go with them)."""
        outcome = await asyncio.shield(asyncio.ensure_future(self._write(fn, args)))
        return outcome.result()

    async def _write(self, fn: Callable[..., T], args: tuple[Any, ...]) -> Future[T]:
        """The write's outcome, settled: a SystemExit in `fn` (a simulated crash) reaches the caller,
        as from the writer thread, not the event loop that a task raising it would stop."""
        outcome: Future[T] = Future()
        async with self._writing:
            try:
                outcome.set_result(await bridge.run(fn, self.writer_db, *args))
            except BaseException as exc:  # handed to the caller by `outcome.result()`
                outcome.set_exception(exc)
        return outcome

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(db, *args)` in one REPEATABLE READ READ ONLY transaction on a connection of its own."""
        return await bridge.run(snapshot, self._engine.connect(), fn, args)

    def close(self) -> None:
        """Nothing of its own to close but an unfinished transaction; the engine closes the pools."""
        self.writer_db.close()


def snapshot(db: Db, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """`fn(db, *args)` in one read transaction: SQLite's deferred BEGIN (WAL: never waits for the
    writer), PostgreSQL's REPEATABLE READ READ ONLY."""
    if isinstance(db, sqlite3.Connection):
        db.execute("BEGIN")
        try:
            return fn(db, *args)
        finally:
            db.execute("COMMIT")
    assert isinstance(db, Connection)
    db.begin(read_only=True)
    try:
        return fn(db, *args)
    finally:
        db.rollback()
