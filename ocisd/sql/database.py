"""Query functions off the event loop: one writer thread (writes serialised, as SQLite needs and
PostgreSQL keeps for a simple model) and reader threads, each thread with its own connection."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .connection import Connection

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
