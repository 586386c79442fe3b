"""A storage extension: driver, upload sessions, the ocisd.storage.v1 gRPC services and the data
server, started and stopped as one. storage-users and storage-system are this with their own
name, config and space policy.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import grpc.aio

from ocisd import authz
from ocisd.api.postprocessing.v1.contract import PROCESSING_QUEUED, configured_steps
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.storage.v1.contract import shard
from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension
from ocisd.identity import Identity
from ocisd.sql import Engine, Unavailable
from ocisd.storage.driver import Base, driver_class, load
from ocisd.storage.local.postgres import open_engine
from ocisd.storage.sessions.upload_sessions import UploadSessions

from .config import StorageConfig, parse_range
from .grpc import ProviderService, StorageService
from .http import make_app
from .processing_grpc import ProcessingService
from .session_http import add_session_routes
from .spaces import SpacePolicy
from .transfer import Transfers
from .trash_purge import TrashPurger


class DataDirClaim:
    """One storage process per data dir: a second one would delete the first one's uploads in
    progress (temp clean-up at start) and race it on the blobs. An advisory `flock` held for
    the extension's life says who owns the dir; the kernel drops it if the process dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "storage.lock"
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            # Not a ConfigError: during a restart the old process may still be on its way out.
            raise RuntimeError(f"{self.path.parent}: another storage process uses this data dir") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class StorageExtension(Extension):
    versions = True  # whether overwrites keep versions here (unless OCIS_DISABLE_VERSIONING)
    holds_revisions = True  # whether new revisions wait for postprocessing steps (when steps are configured)
    driver: Base | None = None
    claim: DataDirClaim | None = None
    sessions: UploadSessions | None = None
    engine: Engine | None = None

    @classmethod
    def check(cls, config: StorageConfig) -> None:
        parse_range(config.home_range)
        driver_class(config, f"{cls.name}.driver")
        if config.metadata not in ("sqlite", "postgres"):
            raise ConfigError(f"{cls.name}.metadata: expected sqlite or postgres, found {config.metadata!r}")

    @classmethod
    def migrate(cls, cfg: EffectiveConfig) -> list[str]:
        """Apply the PostgreSQL schema's migrations (SQLite databases migrate at start, by themselves)."""
        if cfg.own.metadata != "postgres":
            raise ConfigError(f"{cfg.name}: metadata is {cfg.own.metadata}: its database migrates at start")
        try:
            engine, applied = open_engine(cfg, serve=False)
        except Unavailable as exc:
            raise ConfigError(str(exc)) from None
        engine.close()
        return [f"{engine.schema} {step.version}: {step.description}" for step in applied]

    def spaces(self, ctx: Context) -> SpacePolicy:
        """Who may use which space on this service."""
        raise NotImplementedError

    @staticmethod
    def _privileged(ctx: Context) -> Callable[[Identity], bool]:
        """The admin and the system user, and extensions acting with their service token."""
        return lambda who: bool(who.service) or authz.is_privileged(who, ctx.shared)

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        home_range = parse_range(cfg.home_range)
        data_url = (cfg.data_url or f"http://{ctx.advertised(cfg.http_addr)}").rstrip("/")
        self.claim = DataDirClaim(ctx.data_dir)
        self.claim.acquire()
        self.driver = load(cfg, ctx.data_dir)
        if cfg.metadata == "postgres":
            self.engine, applied = engine, applied = await asyncio.to_thread(open_engine, ctx.effective)
            for step in applied:
                ctx.log.info("schema migrated", schema=engine.schema, version=step.version, step=step.description)
            self.driver.sql = engine
        self.driver.keep_versions = self.versions and not ctx.shared.disable_versioning
        self.driver.hold_revisions = self.holds_revisions and bool(configured_steps())
        bell = {"provider": cfg.provider_id}
        self.driver.on_queued = lambda: ctx.bus.publish_event(PROCESSING_QUEUED, bell)
        await self.driver.open()
        spaces = self.spaces(ctx)
        transfers = Transfers(ctx.shared.transfer_secret, data_url, float(cfg.transfer_expiry))
        self.sessions = UploadSessions(self.driver, ctx.data_dir, float(cfg.upload_expiration))
        await self.sessions.open()
        ctx.create_task(self.sessions.janitor(), "upload-janitor")
        purger = TrashPurger(self.driver, float(cfg.trash_retention))
        if cfg.trash_bin:
            ctx.create_task(purger.run(), "trash-purge")
            ctx.features.append("trash-bin")
        fixed = spaces.fixed
        storage = StorageService(
            self.driver, spaces, transfers, self.sessions, self._privileged(ctx), purger, ctx.bus.publish_event,
            cfg.provider_id, lambda space_id: space_id in fixed or home_range[0] <= shard(space_id) <= home_range[1],
        )  # fmt: skip
        provider = ProviderService(cfg.provider_id, home_range, spaces.fixed, data_url)
        processing = ProcessingService(self.driver)

        def register(server: grpc.aio.Server) -> None:
            storage_pb2_grpc.add_StorageServicer_to_server(storage, server)
            storage_pb2_grpc.add_ProviderServicer_to_server(provider, server)
            storage_pb2_grpc.add_ProcessingServicer_to_server(processing, server)

        # Data URLs carry their own signature; provider info is what the gateway routes by.
        app = make_app(self.driver, ctx.shared.transfer_secret, ctx.metrics)
        add_session_routes(app, self.sessions, ctx.shared.transfer_secret)
        await ctx.serve_http(app, public=("/data/",))
        ctx.addresses["data"] = data_url  # the only origin callers fetch this instance's data URLs from
        await ctx.serve_grpc(register, public=("/ocisd.storage.v1.Provider/",))

    async def stop(self) -> None:
        if self.sessions is not None:
            self.sessions.close()
            self.sessions = None
        if self.driver is not None:
            await self.driver.close()
            self.driver = None
        if self.engine is not None:
            await asyncio.to_thread(self.engine.close)
            self.engine = None
        if self.claim is not None:
            self.claim.release()
            self.claim = None
