"""Who makes a request, carried between extensions as a short-lived internal token.

The proxy authenticates a request once and forwards an HS256 JWT signed with
`OCIS_JWT_SECRET` in the `X-Access-Token` header; gRPC calls carry it as
`x-access-token` metadata (the client factory copies it from `ACCESS_TOKEN`).
Every extension verifies it with the shared secret, so going around the proxy
buys nothing.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field

import jwt

HTTP_HEADER = "X-Access-Token"
GRPC_METADATA = "x-access-token"
ISSUER = "ocisd"
AUDIENCE = "ocisd-internal"
DEFAULT_TTL = 300.0

# The identity of the request being served, set where the token is verified.
CURRENT: ContextVar[Identity | None] = ContextVar("ocisd_identity", default=None)


class InvalidToken(Exception):
    """The internal token is missing, malformed, expired or not signed with our secret."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str
    display_name: str = ""
    email: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


def mint(secret: str, who: Identity, ttl: float = DEFAULT_TTL) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": who.user_id,
        "name": who.username,
        "display_name": who.display_name,
        "email": who.email,
        "groups": list(who.groups),
        "iat": now,
        "exp": now + int(ttl),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str) -> Identity:
    if not token:
        raise InvalidToken("no internal token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    groups = claims.get("groups") or []
    if not isinstance(claims.get("name"), str) or not isinstance(groups, list):
        raise InvalidToken("malformed identity claims")
    return Identity(
        user_id=str(claims["sub"]),
        username=claims["name"],
        display_name=str(claims.get("display_name") or ""),
        email=str(claims.get("email") or ""),
        groups=tuple(str(g) for g in groups),
    )
