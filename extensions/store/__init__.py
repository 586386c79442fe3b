"""store: a small record service (namespaces, keys, values, optional TTL) on SQLite (gRPC ocisd.store.v1.Store)."""

from __future__ import annotations

import asyncio
from typing import Any

from ocisd.api.store.v1 import store_pb2_grpc
from ocisd.config.schema import ConfigError
from ocisd.directory.worker import Worker
from ocisd.extension import Context, Extension

from .config import StoreConfig
from .grpc import StoreService
from .records import Records


class Store(Extension):
    name = "store"
    summary = "records for other extensions (gRPC ocisd.store.v1.Store), persisted in SQLite"
    config = StoreConfig

    def __init__(self) -> None:
        self._worker: Worker[Records] | None = None

    @classmethod
    def check(cls, config: Any) -> None:
        if int(config.max_value_size) < 1:
            raise ConfigError("store max_value_size must be at least 1 byte")
        if float(config.sweep_interval) <= 0:
            raise ConfigError("store sweep_interval must be positive")

    async def start(self, ctx: Context) -> None:
        worker = self._worker = await Worker.open("store-db", Records, ctx.data_dir / "store.db")
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
