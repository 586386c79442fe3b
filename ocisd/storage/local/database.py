"""SQLite off the event loop: one writer thread (writes are serialised, each one transaction)
and a small pool of reader threads with their own connections (WAL lets them read while
the writer writes)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from . import tree

T = TypeVar("T")
READERS = 2


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer_db = tree.connect(path)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="storage-writer")
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="storage-reader")
        self._local = threading.local()
        self._reader_dbs: list[sqlite3.Connection] = []

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the writer thread; `fn` opens its own transactions (see `transaction`)."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: fn(self.writer_db, *args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` in one read transaction (a consistent snapshot)."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn, args)

    def _read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = tree.connect(self.path)
            self._reader_dbs.append(db)
        db.execute("BEGIN")
        try:
            return fn(db, *args)
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        for db in [self.writer_db, *self._reader_dbs]:
            db.close()


class transaction:
    """`with transaction(db): ...` = BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception.

    `durable=False` skips the fsync of this commit (SQLite `synchronous=NORMAL`): it
    survives a process crash but maybe not a power cut. Only for bookkeeping whose
    loss costs nothing but disk space, never for what a client was told is stored.
    """

    def __init__(self, db: sqlite3.Connection, durable: bool = True) -> None:
        self.db = db
        self.durable = durable

    def __enter__(self) -> sqlite3.Connection:
        if not self.durable:
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            if not self.durable:
                self.db.execute("PRAGMA synchronous=FULL")
