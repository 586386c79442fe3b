"""Upload URLs used once: the ids of consumed upload URLs, kept in SQLite (or the PostgreSQL schema) until they expire.

A URL is consumed when the body of a PUT using it has arrived in full and its
commit begins. The id is recorded (fsynced) before the driver commits, so a
crash or restart mid-commit leaves the URL used: one URL never commits twice.
A PUT that fails earlier (dropped connection, wrong size) wrote nothing, and
its URL may be tried again until it expires; clients that retry an upload
initiate it again and get a new URL anyway.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ocisd import sql
from ocisd.storage.durable_db import DurableDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS used_urls(id TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS used_urls_expires ON used_urls(expires);
"""


class UsedUrls(DurableDb):
    def __init__(self, path: Path, engine: sql.Engine | None = None) -> None:
        super().__init__(path, SCHEMA, "used-urls", engine)

    async def used(self, url_id: str) -> bool:
        return bool(await self._tx(lambda db: db.execute("SELECT 1 FROM used_urls WHERE id=?", (url_id,)).fetchall()))

    async def consume(self, url_id: str, expires: int) -> bool:
        """Record `url_id` as used; False if it was already. Expired ids are pruned on the way."""

        def consume(db: Any) -> bool:
            db.execute("DELETE FROM used_urls WHERE expires<?", (int(time.time()),))
            sql = "INSERT INTO used_urls(id, expires) VALUES(?, ?) ON CONFLICT(id) DO NOTHING"
            return db.execute(sql, (url_id, expires)).rowcount == 1

        return await self._tx(consume)
