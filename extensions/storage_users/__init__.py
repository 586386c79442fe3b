"""storage-users: one personal space per user behind a storage driver; gRPC API plus data server.

The driver, data server and services live here; storage-system reuses them by
importing from this package (extensions may build on each other; the core may not).
"""

from __future__ import annotations

import grpc.aio

from ocisd import addresses
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .claim import DataDirClaim
from .config import StorageUsersConfig
from .driver import Base, load
from .grpc import ProviderService, StorageService
from .http import make_app
from .session_http import add_session_routes
from .spaces import PersonalSpaces
from .transfer import Transfers
from .upload_sessions import UploadSessions


def parse_range(text: str) -> tuple[str, str]:
    lo, sep, hi = text.lower().partition("-")
    ok = sep and all(len(x) == 2 and all(c in "0123456789abcdef" for c in x) for x in (lo, hi)) and lo <= hi
    if not ok:
        raise ConfigError(f"home_range: expected two hex bytes like 00-7f, found {text!r}")
    return lo, hi


class StorageUsers(Extension):
    name = "storage-users"
    summary = "personal spaces: storage driver, ocisd.storage.v1 gRPC API and signed-URL data server"
    config = StorageUsersConfig

    driver: Base | None = None
    claim: DataDirClaim | None = None
    sessions: UploadSessions | None = None

    @classmethod
    def check(cls, config: StorageUsersConfig) -> None:
        parse_range(config.home_range)

    def spaces(self, ctx: Context) -> PersonalSpaces:
        return PersonalSpaces()

    async def start(self, ctx: Context) -> None:
        cfg = ctx.config
        home_range = parse_range(cfg.home_range)
        data_url = (cfg.data_url or f"http://{addresses.connectable(cfg.http_addr)}").rstrip("/")
        self.claim = DataDirClaim(ctx.data_dir)
        self.claim.acquire()
        self.driver = load(cfg, ctx.data_dir)
        await self.driver.open()
        spaces = self.spaces(ctx)
        transfers = Transfers(ctx.shared.transfer_secret, data_url, float(cfg.transfer_expiry))
        self.sessions = UploadSessions(self.driver, ctx.data_dir, float(cfg.upload_expiration))
        await self.sessions.open()
        ctx.create_task(self.sessions.janitor(), "upload-janitor")
        storage = StorageService(self.driver, spaces, transfers, ctx.node.host, self.sessions)
        provider = ProviderService(cfg.provider_id, home_range, spaces.fixed, data_url)

        def register(server: grpc.aio.Server) -> None:
            storage_pb2_grpc.add_StorageServicer_to_server(storage, server)
            storage_pb2_grpc.add_ProviderServicer_to_server(provider, server)

        # Data URLs carry their own signature; provider info is what the gateway routes by.
        app = make_app(self.driver, ctx.shared.transfer_secret, ctx.metrics)
        add_session_routes(app, self.sessions, ctx.shared.transfer_secret)
        await ctx.serve_http(app, public=("/data/",))
        await ctx.serve_grpc(register, public=("/ocisd.storage.v1.Provider/",))

    async def stop(self) -> None:
        if self.sessions is not None:
            self.sessions.close()
            self.sessions = None
        if self.driver is not None:
            await self.driver.close()
            self.driver = None
        if self.claim is not None:
            self.claim.release()
            self.claim = None
