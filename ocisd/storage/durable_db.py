"""A small database of the storage's own bookkeeping, beside the driver's: each call one transaction,
one call at a time. SQLite (WAL, synchronous FULL: a commit is on disk before anyone is answered) in
its own file on a thread of its own, or the instance's PostgreSQL schema (the tables come with its
migrations, `local.postgres`) in greenlets on the event loop (`sql.LoopDatabase`). Upload-session
records and used upload URLs are kept this way."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ocisd import sql
from ocisd.storage.local.database import transaction, unavailable

T = TypeVar("T")


class DurableDb:
    def __init__(self, path: Path, schema: str, thread_name: str, engine: sql.Engine | None = None) -> None:
        self._db: Any
        self._loop_db = None if engine is None else sql.LoopDatabase(engine)
        self._thread: ThreadPoolExecutor | None = None
        if self._loop_db is not None:
            self._db = self._loop_db.writer_db
        else:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(schema)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix=thread_name)

    async def _tx(self, fn: Callable[[Any], T]) -> T:
        def run(db: Any) -> T:
            with transaction(db):
                return fn(db)

        with unavailable():
            if self._loop_db is not None:
                return await self._loop_db.write(run)
            return await asyncio.get_running_loop().run_in_executor(self._thread, run, self._db)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        self._db.close()
