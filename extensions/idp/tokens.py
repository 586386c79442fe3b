"""Access and ID tokens: JWTs signed by the key ring's current key (joserfc), and their verification."""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from .keys import ALGORITHMS, KeyRing

ACCESS_AUDIENCE = "ocisd"  # what auth-bearer expects besides the client id
USER_CLAIMS = ("preferred_username", "name", "email")


class InvalidToken(Exception):
    pass


class Minter:
    def __init__(self, keys: KeyRing, issuer: str, access_ttl: float, id_ttl: float) -> None:
        self._keys = keys
        self.issuer = issuer
        self._access_ttl = access_ttl
        self._id_ttl = id_ttl

    def _sign(self, claims: dict[str, Any]) -> str:
        signer = self._keys.signer
        alg = self._keys.alg
        return jwt.encode({"alg": alg, "kid": signer.kid}, claims, signer, algorithms=[alg])

    def access_token(self, client_id: str, user: dict[str, Any], scope: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user["sub"],
            "aud": [client_id, ACCESS_AUDIENCE],
            "azp": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + int(self._access_ttl),
            **{k: user[k] for k in USER_CLAIMS if k in user},
        }
        return self._sign(claims)

    def id_token(self, client_id: str, user: dict[str, Any], nonce: str, auth_time: int) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user["sub"],
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + int(self._id_ttl),
            "auth_time": auth_time,
            **{k: user[k] for k in USER_CLAIMS if k in user},
        }
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims)

    def verify(self, token: str, check_expiry: bool = True) -> dict[str, Any]:
        """Claims of a token this idp signed (any published key); expiry optional (id_token_hint)."""
        try:
            decoded = jwt.decode(token, self._keys.verify_keys, algorithms=list(ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.issuer}, sub={"essential": True})
            registry.validate(decoded.claims)
            if check_expiry:
                jwt.JWTClaimsRegistry(exp={"essential": True}, leeway=30).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from None
        return dict(decoded.claims)
