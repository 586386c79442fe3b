"""graph: the Libre Graph API ownCloud clients use (me, users, groups, drives and their members)."""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .config import GraphConfig
from .http import make_app


class Graph(Extension):
    name = "graph"
    summary = "Libre Graph API: /me, users and groups, drives (spaces) and their members"
    config = GraphConfig
    routes = ("/graph/",)  # v1.0 and v1beta1

    async def start(self, ctx: Context) -> None:
        await ctx.serve_http(make_app(ctx))
