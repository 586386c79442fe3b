"""Verifying an issuer's bearer JWT: algorithm, key, signature, exp, nbf, iss, aud."""

from __future__ import annotations

from typing import Any

import jwt

from .keys import KeySet


class InvalidBearer(Exception):
    """The token is malformed, unsigned, signed by no configured key, expired, or not for us."""


class JwtVerifier:
    def __init__(self, keys: KeySet, issuers: list[str], audiences: list[str], leeway: float) -> None:
        self._keys = keys
        self._issuers = issuers
        self._audiences = audiences
        self._leeway = leeway

    async def verify(self, token: str) -> dict[str, Any]:
        if not self._issuers:
            raise InvalidBearer("no issuers are configured")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidBearer(f"malformed token: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise InvalidBearer("unsigned tokens are refused")
        kid = kid if isinstance(kid, str) else None
        # Only keys whose type fits the header's algorithm: no HS256 against an RSA key's text.
        candidates = [
            k for k in await self._keys.keys(kid) if alg in k.algorithms and (kid is None or k.kid in (None, kid))
        ]
        if not candidates:
            raise InvalidBearer(f"no configured key verifies {alg} tokens" + (f" with kid {kid!r}" if kid else ""))
        for candidate in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    candidate.key,
                    algorithms=[alg],
                    audience=self._audiences,
                    issuer=self._issuers,
                    leeway=self._leeway,
                    options={"require": ["exp", "iss", "aud"]},
                )
                return claims
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise InvalidBearer(str(exc)) from None
        raise InvalidBearer("signature verification failed")
