"""graph-explorer's settings: addresses and the OpenID Connect client the page signs in as."""

from __future__ import annotations

from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class GraphExplorerConfig:
    http_addr: str = setting("127.0.0.1:9135", "HTTP address: the /graph-explorer/ page.")
    debug_addr: str = setting("127.0.0.1:9136", "Debug address: /healthz, /readyz, /metrics.")
    client_id: str = setting(
        "ocis-explorer.js", "OpenID Connect client id the page signs in as (a public client; PKCE S256)."
    )
    issuer: str = setting("", "OpenID Connect issuer the page signs in with; empty: OCIS_URL (idp).")
