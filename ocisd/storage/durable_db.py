"""A small SQLite database of the storage's own bookkeeping, beside the driver's: one connection
(WAL, synchronous FULL: a commit is on disk before anyone is answered) on one thread, each call
one transaction. Upload-session records and used upload URLs are kept this way."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ocisd.storage.local.database import transaction

T = TypeVar("T")


class DurableDb:
    def __init__(self, path: Path, schema: str, thread_name: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(schema)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=thread_name)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            with transaction(self._db):
                return fn(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self._db.close()
