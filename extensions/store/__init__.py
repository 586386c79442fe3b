"""store: a small record service (namespaces, keys, values, optional TTL) on SQLite or PostgreSQL
(gRPC ocisd.store.v1.Store)."""

from __future__ import annotations

import asyncio
from typing import Any

from ocisd.api.store.v1 import store_pb2_grpc
from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError
from ocisd.directory.sql import migrate_postgres
from ocisd.directory.worker import Worker
from ocisd.extension import Context, Extension

from .config import StoreConfig
from .grpc import StoreService
from .records import DRIVERS, TABLES, Records


class Store(Extension):
    name = "store"
    summary = "records for other extensions (gRPC ocisd.store.v1.Store), persisted in SQLite or PostgreSQL"
    config = StoreConfig

    def __init__(self) -> None:
        self._worker: Worker[Records] | None = None

    @classmethod
    def check(cls, config: Any) -> None:
        if config.driver not in DRIVERS:
            raise ConfigError(f"store.driver must be one of {', '.join(DRIVERS)}, not {config.driver!r}")
        if int(config.max_value_size) < 1:
            raise ConfigError("store max_value_size must be at least 1 byte")
        if float(config.sweep_interval) <= 0:
            raise ConfigError("store sweep_interval must be positive")

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str]:
        return migrate_postgres(cfg, TABLES)

    async def start(self, ctx: Context) -> None:
        dsn = ctx.shared.postgres_dsn
        worker = self._worker = await Worker.open("store-db", Records, ctx.config.driver, ctx.data_dir, dsn)
        service = StoreService(worker, int(ctx.config.max_value_size))
        await ctx.serve_grpc(lambda s: store_pb2_grpc.add_StoreServicer_to_server(service, s))

        async def sweep() -> None:
            while True:
                await asyncio.sleep(float(ctx.config.sweep_interval))
                if swept := await worker.run(worker.backend.sweep):
                    ctx.log.debug("expired records removed", count=swept)

        ctx.create_task(sweep(), "sweep")

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
