"""The clients idp knows: oCIS's static ones plus `idp.clients`; redirect URIs must match exactly.

The only leeway is RFC 8252's for native apps on loopback: a client with a
`http://127.0.0.1` or `http://localhost` redirect URI may use any port there.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from ocisd.config.schema import ConfigError

DESKTOP_ID = "xdXOt13JKxym1B1QcEncf2XDkLAexMBFwiT9j6EfhhHFJhs2KM9jbjTmf8JBXE69"
# oCIS publishes this secret: the desktop client cannot keep one, PKCE is what protects its codes.
DESKTOP_SECRET = "UBntmLjC2yYCeHwsyj73Uwo9TAaecAetRwMw0xYcvNL9yRdLSUi0hUAHfvCHFeFh"
ANDROID_ID = "e4rAsNUSIUs0lF4nbv9FmCeUkTlV9GdgTLDH1b5uie7syb90SzEVrbN7HIpmWJeD"
IOS_ID = "mxd5OQDk6es5LzOzRvidJNfXLUZS2oN3oUFeXPP8LpPrhx3UroJFduGEYIBOxkY1"
EXPLORER_ID = "ocis-explorer.js"
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Client:
    id: str
    redirect_uris: tuple[str, ...]
    secret: str = ""  # empty: a public client, PKCE S256 required
    name: str = ""

    @property
    def public(self) -> bool:
        return not self.secret

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        try:
            got = urlsplit(uri)
            got.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return False
        for allowed in map(urlsplit, self.redirect_uris):
            loopback = allowed.scheme == "http" and allowed.hostname in LOOPBACK and allowed.port is None
            if loopback and (got.scheme, got.hostname) == ("http", allowed.hostname) and got.path in ("", "/"):
                return not (got.query or got.fragment or got.username or got.password)
        return False

    def secret_matches(self, secret: str) -> bool:
        return bool(self.secret) and hmac.compare_digest(self.secret.encode(), secret.encode())


def static_clients(url: str) -> list[Client]:
    return [
        Client(
            "web", (f"{url}/", f"{url}/oidc-callback.html", f"{url}/oidc-silent-redirect.html"), name="ownCloud Web"
        ),
        Client(DESKTOP_ID, ("http://127.0.0.1", "http://localhost"), DESKTOP_SECRET, "ownCloud desktop client"),
        Client(ANDROID_ID, ("oc://android.owncloud.com",), name="ownCloud Android app"),
        Client(IOS_ID, ("oc://ios.owncloud.com", "oc.ios://ios.owncloud.com"), name="ownCloud iOS app"),
        Client(EXPLORER_ID, (f"{url}/graph-explorer/",), name="Graph Explorer"),
    ]


def configured_clients(text: str) -> list[Client]:
    """`idp.clients`: a JSON array of {"id", "secret"?, "redirect_uris", "name"?}."""
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"idp.clients: not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ConfigError("idp.clients: expected a JSON array of client objects")
    clients = []
    for item in items:
        uris = item.get("redirect_uris") if isinstance(item, dict) else None
        fields = (item.get("id"), item.get("secret", ""), item.get("name", "")) if isinstance(item, dict) else ()
        if not fields or not all(isinstance(f, str) for f in fields) or not fields[0]:
            raise ConfigError(f"idp.clients: each client needs a string id (and string secret, name): {item!r}")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
            raise ConfigError(f"idp.clients: client {fields[0]!r} needs a non-empty redirect_uris list")
        clients.append(Client(fields[0], tuple(uris), fields[1], fields[2]))
    return clients


def all_clients(url: str, configured: str) -> dict[str, Client]:
    return {c.id: c for c in static_clients(url) + configured_clients(configured)}
