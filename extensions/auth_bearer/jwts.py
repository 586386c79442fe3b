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
        self.issuers = issuers
        self._audiences = audiences
        self._leeway = leeway

    async def verify(self, token: str) -> dict[str, Any]:
        if not self.issuers:
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
                    issuer=self.issuers,
                    leeway=self._leeway,
                    options={"require": ["exp", "iss", "aud"]},
                )
                return claims
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise InvalidBearer(str(exc)) from None
        raise InvalidBearer("signature verification failed")


class Trusts:
    """Several issuers with their own keys and audiences: a token goes to the verifier of its `iss`."""

    def __init__(self, verifiers: list[JwtVerifier]) -> None:
        self._verifiers = verifiers

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise InvalidBearer(f"malformed token: {exc}") from None
        for verifier in self._verifiers:
            if iss in verifier.issuers:
                return await verifier.verify(token)
        raise InvalidBearer("no configured issuer" if not isinstance(iss, str) else f"untrusted issuer {iss[:100]!r}")
