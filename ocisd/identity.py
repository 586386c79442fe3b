"""Who makes a request, carried between extensions as a short-lived internal token.

The proxy authenticates a request once and forwards an HS256 JWT signed with
`OCIS_JWT_SECRET` in the `X-Access-Token` header; gRPC calls carry it as
`x-access-token` metadata (the client factory copies it from `ACCESS_TOKEN`).
Every extension verifies it with the shared secret, so going around the proxy
buys nothing.

Extensions calling each other's credential checks (`Authenticate`) carry a
*service token* instead: the same JWT with a `svc` claim naming the calling
extension and no user behind it. Only holders of the secret can mint one.
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
SERVICE_CLAIM = "svc"

# The identity of the request being served, set where the token is verified.
CURRENT: ContextVar[Identity | None] = ContextVar("ocisd_identity", default=None)


class InvalidToken(Exception):
    """The internal token is missing, malformed, expired or not signed with our secret."""


@dataclass(frozen=True)
class Scope:
    """A public link's reach: one resource ("<space>!<node>") and what lies below it, with exactly `bits`."""

    resource: str
    bits: int


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str
    display_name: str = ""
    email: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)  # group names
    service: str = ""  # set on service tokens: the extension acting on its own behalf
    group_ids: tuple[str, ...] = field(default_factory=tuple)  # what group grants name
    scope: Scope | None = None  # set on public-link identities: they reach nothing else


def service_identity(name: str) -> Identity:
    """No user: the `service:` prefix matches no user id, so the token grants no user's rights."""
    return Identity(user_id=f"service:{name}", username=f"service:{name}", service=name)


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
        "group_ids": list(who.group_ids),
        "iat": now,
        "exp": now + int(ttl),
    }
    if who.service:
        claims[SERVICE_CLAIM] = who.service
    if who.scope is not None:
        claims["scope"] = {"resource": who.scope.resource, "bits": who.scope.bits}
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
    group_ids = claims.get("group_ids", [])
    if not isinstance(claims.get("name"), str) or not isinstance(groups, list) or not _strings(group_ids):
        raise InvalidToken("malformed identity claims")
    return Identity(
        user_id=str(claims["sub"]),
        username=claims["name"],
        display_name=str(claims.get("display_name") or ""),
        email=str(claims.get("email") or ""),
        groups=tuple(str(g) for g in groups),
        service=str(claims.get(SERVICE_CLAIM) or ""),
        group_ids=tuple(group_ids),
        scope=_scope(claims.get("scope")),
    )


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _scope(claim: object) -> Scope | None:
    if claim is None:
        return None
    if not isinstance(claim, dict) or set(claim) != {"resource", "bits"}:
        raise InvalidToken("malformed scope claim")
    resource, bits = claim["resource"], claim["bits"]
    space, _, node = resource.partition("!") if isinstance(resource, str) else ("", "", "")
    # bool is an int subclass: refuse true/false as bits
    if not space or not node or type(bits) is not int or not 0 < bits < 32:
        raise InvalidToken("malformed scope claim")
    return Scope(resource, bits)


class ServiceToken:
    """An extension's own service token, minted again when half its lifetime has passed."""

    def __init__(self, secret: str, name: str, ttl: float = DEFAULT_TTL) -> None:
        self._secret = secret
        self._who = service_identity(name)
        self._ttl = ttl
        self._token = ""
        self._renew_at = 0.0

    def get(self) -> str:
        if time.monotonic() >= self._renew_at:
            self._token = mint(self._secret, self._who, self._ttl)
            self._renew_at = time.monotonic() + self._ttl / 2
        return self._token
