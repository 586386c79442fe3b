"""antivirus: scans revisions with ClamAV's clamd (INSTREAM) for postprocessing, and the manual scans API."""

from __future__ import annotations

import aiohttp

from ocisd.api.antivirus.v1 import antivirus_pb2_grpc
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .clamd import Clamd, check_address
from .config import HANDLINGS, AntivirusConfig
from .grpc import AntivirusService
from .http import PREFIX, make_app
from .scanner import Scanner


class Antivirus(Extension):
    name = "antivirus"
    summary = "virus scans with ClamAV's clamd: postprocessing's virusscan step and manual scans"
    config = AntivirusConfig
    routes = (PREFIX,)
    optional = True  # needs a clamd, which the embedded defaults do not have

    @classmethod
    def check(cls, config: AntivirusConfig) -> None:
        if config.infected_file_handling not in HANDLINGS:
            raise ConfigError(
                f"antivirus infected_file_handling: expected one of {', '.join(HANDLINGS)}, "
                f"found {config.infected_file_handling!r}"
            )
        try:
            check_address(config.clamav_socket)
        except ValueError as exc:
            raise ConfigError(f"antivirus clamav_socket: {exc}") from None

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None

    async def start(self, ctx: Context) -> None:
        cfg: AntivirusConfig = ctx.config
        # Downloads from the storages' data servers; no total timeout: big files take long.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=cfg.clamav_timeout)
        self._http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        clamd = Clamd(cfg.clamav_socket, cfg.clamav_timeout)
        scanner = Scanner(ctx.rpc, ctx.registry, self._http, clamd, ctx.shared.jwt_secret, cfg.max_scan_size)
        service = AntivirusService(scanner, cfg.infected_file_handling, ctx.log, ctx.metrics)
        await ctx.serve_grpc(lambda s: antivirus_pb2_grpc.add_AntivirusServicer_to_server(service, s))
        await ctx.serve_http(make_app(ctx.rpc))

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
