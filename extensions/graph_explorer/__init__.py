"""graph-explorer: a page where a signed-in user sends Graph requests and reads the answers."""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .config import GraphExplorerConfig
from .http import ROUTES, make_app


class GraphExplorer(Extension):
    name = "graph-explorer"
    summary = "a page to send Libre Graph requests as the signed-in user (OpenID Connect, PKCE)"
    config = GraphExplorerConfig
    routes = ROUTES

    async def start(self, ctx: Context) -> None:
        # Public: the page holds no secret; the browser's Bearer token authenticates at /graph/.
        await ctx.serve_http(make_app(ctx.config, ctx.shared.url), public=self.routes)
