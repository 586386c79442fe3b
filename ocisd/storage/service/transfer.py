"""Short-lived data URLs signed with the transfer secret (HMAC-SHA256, expiry inside).

A token carries what the data server must know without asking anyone: the
kind (upload/download), the resource and, for uploads, the checked options;
and a random id (`jti`), by which an upload URL is accepted once (`used_urls`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import Ref

MAC_BYTES = 20


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:MAC_BYTES])


def sign(secret: str, claims: dict[str, Any], ttl: float) -> tuple[str, int]:
    """A token for `claims` valid for `ttl` seconds, and its expiry (unix seconds)."""
    expires = int(time.time() + ttl)
    claims = {**claims, "jti": _b64(secrets.token_bytes(12)), "exp": expires}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}", expires


def verify(secret: str, token: str, kind: str) -> dict[str, Any]:
    body, _, mac = token.partition(".")
    if not mac or not hmac.compare_digest(mac, _mac(secret, body)):
        raise errors.StorageError(errors.Kind.FORBIDDEN, "bad-url", "transfer URL signature is invalid")
    try:
        claims = json.loads(_unb64(body))
    except ValueError:
        raise errors.StorageError(errors.Kind.FORBIDDEN, "bad-url", "transfer URL is malformed") from None
    if not isinstance(claims, dict) or claims.get("kind") != kind:
        raise errors.StorageError(errors.Kind.FORBIDDEN, "bad-url", f"this URL is not for {kind}")
    if int(claims.get("exp", 0)) < time.time():
        raise errors.StorageError(errors.Kind.FORBIDDEN, "bad-url", "transfer URL expired")
    return claims


@dataclass
class Transfers:
    """Mints data URLs on this provider's data server."""

    secret: str
    base_url: str
    ttl: float

    def url(self, claims: dict[str, Any]) -> tuple[str, str, int]:
        """(URL, token, expiry) for `claims`."""
        token, expires = sign(self.secret, claims, self.ttl)
        return f"{self.base_url}/data/{token}", token, expires


def ref_claims(ref: Ref) -> dict[str, str]:
    return {"space": ref.space, "path": ref.path, "node": ref.node}


def claims_ref(claims: dict[str, Any]) -> Ref:
    return Ref(space=str(claims["space"]), path=str(claims["path"]), node=str(claims["node"]))
