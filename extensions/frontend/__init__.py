"""frontend: the OCS capabilities, user and config endpoints desktop clients ask first."""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .capabilities import default_permissions, upload_checksum
from .config import FrontendConfig
from .http import make_app


class Frontend(Extension):
    name = "frontend"
    summary = "OCS capabilities and current-user endpoints for sync clients"
    config = FrontendConfig
    routes = (
        "/ocs/v1.php/cloud/capabilities",
        "/ocs/v2.php/cloud/capabilities",
        "/ocs/v1.php/cloud/user",
        "/ocs/v2.php/cloud/user",
        "/ocs/v1.php/config",
        "/ocs/v2.php/config",
    )

    @classmethod
    def check(cls, config: FrontendConfig) -> None:
        upload_checksum(config)
        default_permissions(config)

    async def start(self, ctx: Context) -> None:
        await ctx.serve_http(make_app(ctx.config, ctx.registry, ctx.rpc, ctx.shared))
