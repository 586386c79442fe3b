"""thumbnails: previews of images and text files (gRPC Thumbnails, HTTP data server for large ones)."""

from __future__ import annotations

from ocisd.api.thumbnails.v1 import thumbnails_pb2_grpc
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from . import sizes
from .cache import DATA_PATH, Cache, Handouts
from .config import ThumbnailsConfig
from .grpc import ThumbnailsService
from .http import make_app
from .source import Sources


class Thumbnails(Extension):
    name = "thumbnails"
    summary = "previews of images and text files, rendered with Pillow and cached"
    config = ThumbnailsConfig
    depends = ("gateway",)
    _service: ThumbnailsService | None = None
    _sources: Sources | None = None

    @classmethod
    def check(cls, config: ThumbnailsConfig) -> None:
        sizes.parse(config.resolutions)
        for key in ("max_input_width", "max_input_height", "max_concurrent_requests"):
            if getattr(config, key) < 1:
                raise ConfigError(f"{key}: must be at least 1, found {getattr(config, key)}")

    async def start(self, ctx: Context) -> None:
        cfg: ThumbnailsConfig = ctx.config
        self._sources = sources = Sources(ctx.rpc, ctx.registry, ctx.metrics)
        base_url = f"http://{ctx.advertised(cfg.http_addr)}"
        handouts = Handouts(ctx.shared.transfer_secret, base_url, cfg.data_url_expiry, cfg.cache_size)
        # The signed token is the authority for a data URL, as at the storages' data servers.
        await ctx.serve_http(make_app(handouts), public=(DATA_PATH,))
        self._service = service = ThumbnailsService(cfg, ctx.rpc, sources, Cache(cfg.cache_size), handouts, ctx.metrics)
        await ctx.serve_grpc(lambda s: thumbnails_pb2_grpc.add_ThumbnailsServicer_to_server(service, s))

    async def stop(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None
        if self._sources is not None:
            await self._sources.close()
            self._sources = None
