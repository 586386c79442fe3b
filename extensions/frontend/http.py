"""OCS endpoints of the frontend: capabilities, the current user and the server config."""

from __future__ import annotations

from aiohttp import web

from ocisd import identity, product
from ocisd.bus.registry import Registry
from ocisd.config.shared import SharedConfig
from ocisd.ocs import UNAUTHORISED, respond

from . import capabilities
from .config import FrontendConfig

PREFIXES = ("/ocs/v1.php", "/ocs/v2.php")


def server_config(shared: SharedConfig) -> dict[str, str]:
    """`/config` as oCIS answers it: the public URL as host, ssl as text."""
    ssl = "true" if shared.url.lower().startswith("https://") else "false"
    return {"version": "1.7", "website": "ownCloud", "host": shared.url, "contact": "", "ssl": ssl}


def make_app(cfg: FrontendConfig, registry: Registry, shared: SharedConfig) -> web.Application:
    async def get_capabilities(request: web.Request) -> web.Response:
        data = {"version": product.version(), "capabilities": capabilities.build(cfg, registry)}
        return respond(request, data)

    async def get_user(request: web.Request) -> web.Response:
        who = identity.CURRENT.get()
        if who is None:  # the internal-token guard lets no anonymous request this far
            return respond(request, None, UNAUTHORISED)
        data = {
            "id": who.username,
            "display-name": who.display_name or who.username,
            "email": who.email,
            "language": cfg.default_language,
        }
        return respond(request, data)

    async def get_config(request: web.Request) -> web.Response:
        return respond(request, server_config(shared))

    app = web.Application()
    for prefix in PREFIXES:
        app.router.add_get(f"{prefix}/cloud/capabilities", get_capabilities)
        app.router.add_get(f"{prefix}/cloud/user", get_user)
        app.router.add_get(f"{prefix}/config", get_config)
    return app
