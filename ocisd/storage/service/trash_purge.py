"""Purging trash items older than the retention: hourly inside the storage service, and on request
(`PurgeExpiredTrash`, which `ocis storage-users trash-bin purge-expired` calls)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ocisd.api.storage.v1 import errors
from ocisd.logs import get_logger
from ocisd.storage.driver import Base

INTERVAL = 3600.0
log = get_logger("storage.trash")


class TrashPurger:
    """`retention` in seconds (0 = keep until purged by hand); `clock` is injected by tests."""

    def __init__(self, driver: Base, retention: float, clock: Callable[[], float] = time.time) -> None:
        self._driver = driver
        self.retention = retention
        self._clock = clock

    async def purge_expired(self) -> int:
        """Purge what has expired by now; how many items went."""
        if self.retention <= 0:
            return 0
        return await self._driver.purge_expired_trash(self._clock() - self.retention)

    async def run(self) -> None:
        """Purge at start, then every hour (a purge is one transaction: a crash mid-way changes nothing)."""
        while True:
            try:
                purged = await self.purge_expired()
            except errors.StorageError as exc:  # the metadata database is away: the next round purges
                if exc.kind is not errors.Kind.UNAVAILABLE:
                    raise
                purged = 0
            if purged:
                log.info("purged expired trash items", items=purged, retention_s=self.retention)
            await asyncio.sleep(INTERVAL)
