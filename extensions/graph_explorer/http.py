"""The /graph-explorer/ page, its script and style, and the JSON config the script reads.

The page is static: the browser signs in with OpenID Connect itself (code flow with
PKCE, a public client) and calls /graph/ with the access token. What the server adds
is the config (issuer, client id, redirect URI) and a Content-Security-Policy that lets
the page run only its own script and talk only to this origin and the issuer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from .config import GraphExplorerConfig

PAGE = "/graph-explorer/"
ROUTES = (PAGE, PAGE.rstrip("/"))
STATIC = Path(__file__).parent / "static"
SCOPE = "openid profile email offline_access"


def page_config(cfg: GraphExplorerConfig, url: str) -> dict[str, Any]:
    """What the script needs to sign in: the redirect URI is the page itself, as idp registers it."""
    base = url.rstrip("/")
    return {
        "url": base,
        "issuer": cfg.issuer or base,
        "client_id": cfg.client_id,
        "redirect_uri": base + PAGE,
        "scope": SCOPE,
    }


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(issuer: str) -> str:
    # connect-src: discovery and the token endpoint live at the issuer; Graph is this origin.
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {origin(issuer)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def make_app(cfg: GraphExplorerConfig, url: str) -> web.Application:
    config = page_config(cfg, url)
    page_headers = {
        "Content-Security-Policy": content_security_policy(config["issuer"]),
        "Referrer-Policy": "no-referrer",  # the sign-in answer puts the code in the page's URL
        "Cache-Control": "no-cache",
    }

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=page_headers)

    async def page_config_json(request: web.Request) -> web.Response:
        return web.json_response(config, headers={"Cache-Control": "no-cache"})

    async def index_redirect(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(PAGE)

    app = web.Application(client_max_size=4096)
    app.router.add_get(PAGE.rstrip("/"), index_redirect)
    app.router.add_get(PAGE, page)
    app.router.add_get(PAGE + "config.json", page_config_json)
    app.router.add_static(PAGE + "static/", STATIC)
    return app
