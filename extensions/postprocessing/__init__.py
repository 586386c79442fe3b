"""postprocessing: runs the steps every new revision goes through (virusscan, delay), then completes it.

No gRPC or HTTP port (debug 9255 only): the queue lives with the storage providers
(`ocisd.storage.v1.Processing`); see `worker.py`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocisd import discovery
from ocisd.api.postprocessing.v1 import contract
from ocisd.api.postprocessing.v1.contract import PostprocessingConfig
from ocisd.bus.messages import Message
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .commands import LIST, RETRY
from .steps import Steps
from .worker import Worker

MIN_LEASE = 1.0  # the lease travels in whole seconds


class Postprocessing(Extension):
    name = contract.NAME
    summary = "runs the postprocessing steps (virusscan, delay) of new revisions, leased from the storage providers"
    config = PostprocessingConfig
    depends = ("storage-users",)
    commands = (LIST, RETRY)

    def __init__(self) -> None:
        self._worker: Worker | None = None
        self._ctx: Context | None = None

    @classmethod
    def check(cls, config: Any) -> None:
        contract.parse_steps(config.steps, antivirus_enabled=True)
        positive = {"concurrency": config.concurrency, "max_attempts": config.max_attempts}
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"postprocessing {key} must be at least 1, not {value}")
        if float(config.lease_time) < MIN_LEASE:
            raise ConfigError(f"postprocessing lease_time must be at least {MIN_LEASE:g}s")
        for key in ("poll_interval", "retry_max_delay"):
            if float(getattr(config, key)) <= 0:
                raise ConfigError(f"postprocessing {key} must be positive")

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        steps = contract.parse_steps(cfg.steps, contract.ANTIVIRUS in discovery.selection())
        # A scan may take longer than an ordinary call; the lease is renewed meanwhile.
        scan_timeout = max(float(ctx.shared.grpc_deadline), float(cfg.lease_time))
        worker = self._worker = Worker(ctx, Steps(steps, ctx.rpc, float(cfg.delay), scan_timeout, ctx.metrics))
        self._ctx = ctx
        ctx.bus.subscribe(f"event.{contract.PROCESSING_QUEUED}", self._on_bell)
        ctx.create_task(worker.claim_loop(), "claim")
        ctx.create_task(worker.renew_loop(), "renew")
        ctx.log.info("postprocessing steps", steps=",".join(steps) or "(none)", worker=worker.id)

    def _on_bell(self, msg: Message) -> None:
        if self._worker is not None and not self._worker.stopping:
            self._worker.ring()

    async def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.bus.unsubscribe(f"event.{contract.PROCESSING_QUEUED}", self._on_bell)
        if self._worker is not None:
            try:
                await self._worker.drain()
            except asyncio.CancelledError:  # the shutdown grace ran out: the leases run out instead
                self._worker.cancel()
                raise
