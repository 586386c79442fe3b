"""ocs: the OCS provisioning API ownCloud admins script against, backed by `users` and `groups`."""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .config import OcsConfig
from .http import ROUTES, make_app


class Ocs(Extension):
    name = "ocs"
    summary = "OCS provisioning and share APIs: cloud/users, cloud/groups, files_sharing shares and sharees"
    config = OcsConfig
    routes = ROUTES

    async def start(self, ctx: Context) -> None:
        await ctx.serve_http(make_app(ctx.rpc, ctx.shared))
