"""Issuer verification keys: static files and JWKS URLs, each key bound to the algorithms of its type.

Binding algorithms to the key type is what defeats algorithm confusion: an RSA
public key only verifies RS*/PS* signatures, never HS256 with the key text as
the secret; symmetric (`oct`) keys are not accepted from issuers at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ocisd.config.schema import ConfigError
from ocisd.logs import Logger

RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGS = {"secp256r1": ("ES256",), "secp384r1": ("ES384",), "secp521r1": ("ES512",), "secp256k1": ("ES256K",)}
UNKNOWN_KID_REFETCH = 30.0  # a key rotation is picked up at most this often on unknown `kid`s


@dataclass(frozen=True)
class VerifyKey:
    key: Any  # a cryptography public key
    algorithms: tuple[str, ...]
    kid: str | None = None


def algorithms_for(key: Any) -> tuple[str, ...]:
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EC_ALGS.get(key.curve.name, ())
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return ("EdDSA",)
    return ()


def from_jwk(data: dict[str, Any]) -> VerifyKey | None:
    """A verification key from one JWK; None for symmetric or unusable keys."""
    if data.get("kty") not in ("RSA", "EC", "OKP") or data.get("use", "sig") != "sig":
        return None
    try:
        key = jwt.PyJWK(data).key
    except jwt.PyJWTError:
        return None
    algs = algorithms_for(key)
    if isinstance(data.get("alg"), str):
        algs = tuple(a for a in algs if a == data["alg"])
    kid = data.get("kid")
    return VerifyKey(key, algs, kid if isinstance(kid, str) else None) if algs else None


def from_jwks(data: Any) -> list[VerifyKey]:
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise ValueError("a JWKS is an object with a `keys` array")
    return [k for k in (from_jwk(d) for d in keys if isinstance(d, dict)) if k is not None]


def load_file(path: Path) -> list[VerifyKey]:
    """PEM public keys or certificates, or a JWK / JWKS JSON document."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"{"):
        doc = json.loads(data)
        return from_jwks(doc) if "keys" in doc else [k for k in [from_jwk(doc)] if k is not None]
    if b"BEGIN CERTIFICATE" in data:
        key: Any = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    algs = algorithms_for(key)
    if not algs:
        raise ValueError("unsupported key type (RSA, EC or Ed25519/Ed448 public keys are accepted)")
    return [VerifyKey(key, algs)]


def load_static(paths: list[str]) -> list[VerifyKey]:
    keys: list[VerifyKey] = []
    for p in paths:
        try:
            keys += load_file(Path(p).expanduser())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"auth-bearer.static_keys: {p}: {exc}") from None
    return keys


class KeySet:
    """Static keys plus the keys of JWKS URLs, refreshed every `refresh` seconds or on an unknown kid.

    `urls` may be a function: the URLs are then asked for at every fetch (e.g. the registered idp instances).
    """

    def __init__(
        self,
        static: list[VerifyKey],
        urls: list[str] | Callable[[], list[str]],
        refresh: float,
        insecure: bool,
        log: Logger,
        unknown_kid_refetch: float = UNKNOWN_KID_REFETCH,
    ) -> None:
        self._static = static
        self._urls = urls if callable(urls) else (lambda: urls)
        self._unknown_kid_refetch = unknown_kid_refetch
        self._refresh = refresh
        self._verify_tls = not insecure
        self._log = log
        self._fetched: list[VerifyKey] = []
        self._fetched_at = -1e9

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        urls = self._urls()
        if not urls:
            return  # e.g. no idp registered right now: keep the keys we had
        found: list[VerifyKey] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for url in urls:
                try:
                    async with session.get(url, ssl=self._verify_tls) as resp:
                        resp.raise_for_status()
                        found += from_jwks(await resp.json(content_type=None))
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    self._log.warning("cannot fetch JWKS", url=url, error=str(exc))
                    return  # keep the keys we had
        self._fetched = found

    async def keys(self, kid: str | None) -> list[VerifyKey]:
        age = time.monotonic() - self._fetched_at
        unknown = kid is not None and all(k.kid != kid for k in self._static + self._fetched)
        if age >= self._refresh or (unknown and age >= self._unknown_kid_refetch):
            await self._fetch()
        return self._static + self._fetched
