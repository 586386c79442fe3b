"""Storage metadata off the caller's path: on SQLite one writer thread and reader threads with their
own connections (WAL lets them read while the writer writes, `sql.Database`); on the instance's
PostgreSQL schema greenlets on the event loop (`sql.LoopDatabase`). Writes are serialised, each one
transaction; each read is one snapshot."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ocisd import sql
from ocisd.api.storage.v1 import errors

from . import tree

T = TypeVar("T")
READERS = 2


class Database:
    """The engine's database whose lost PostgreSQL is the storage's UNAVAILABLE (503 at WebDAV, Retry-After)."""

    def __init__(self, where: Path | sql.Engine) -> None:
        self._db = (
            sql.LoopDatabase(where)
            if isinstance(where, sql.Engine)
            else sql.Database(lambda: tree.connect(where), READERS, "storage")
        )
        self.writer_db = self._db.writer_db

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        with unavailable():
            return await self._db.write(fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        with unavailable():
            return await self._db.read(fn, *args)

    def close(self) -> None:
        self._db.close()


class unavailable:
    """`with unavailable(): ...` turns `sql.Unavailable` into the storage's UNAVAILABLE error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, sql.Unavailable):
            raise errors.unavailable(str(exc)) from exc


class transaction:
    """`with transaction(db): ...` = BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception.

    `durable=False` skips the fsync of this commit (SQLite `synchronous=NORMAL`, PostgreSQL
    `synchronous_commit=off`): it survives a process crash but maybe not a power cut. Only for
    bookkeeping whose loss costs nothing but disk space, never for what a client was told is stored.
    """

    def __init__(self, db: sqlite3.Connection | sql.Connection, durable: bool = True) -> None:
        self.db = db
        self.durable = durable

    def __enter__(self) -> Any:
        if isinstance(self.db, sql.Connection):
            self.db.begin(durable=self.durable)
            return self.db
        if not self.durable:
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if isinstance(self.db, sql.Connection):
            self.db.commit() if exc_type is None else self.db.rollback()
            return
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            if not self.durable:
                self.db.execute("PRAGMA synchronous=FULL")
