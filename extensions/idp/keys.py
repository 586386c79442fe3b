"""Signing keys in the data dir (keys.json, 0600): the newest signs, retired ones stay in the JWKS a while.

`rotate` (what `ocis idp rotate-keys` runs) retires the signing key and adds a
new one; a retired key is published until every token it signed has expired
(`retention` after its retirement), so rotation logs nobody out. A running idp
re-reads the file when its mtime changes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

ALGORITHMS = ("RS256", "PS256")
KEY_BITS = 2048
FILE = "keys.json"


def _new_key(alg: str) -> dict[str, Any]:
    key = RSAKey.generate_key(KEY_BITS, parameters={"use": "sig", "alg": alg}, auto_kid=True)
    return {"jwk": key.as_dict(private=True), "created": time.time(), "retired": None}


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable signing keys: {exc}") from None
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) and isinstance(k.get("jwk"), dict) for k in keys):
        raise ValueError(f"{path}: signing keys must be {{'keys': [{{'jwk': ...}}]}}")
    return keys


def _write(path: Path, keys: list[dict[str, Any]]) -> None:
    """Atomically, never readable by others: a temporary 0600 file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"keys": keys}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _live(keys: list[dict[str, Any]], retention: float, now: float) -> list[dict[str, Any]]:
    return [k for k in keys if k.get("retired") is None or float(k["retired"]) + retention > now]


def rotate(data_dir: Path, alg: str, retention: float) -> str:
    """Retire the signing key, add a new one; returns the new key's id. Drops keys past their retention."""
    path = data_dir / FILE
    now = time.time()
    keys = [dict(k, retired=k.get("retired") or now) for k in _read(path)]
    keys = _live(keys, retention, now) + [_new_key(alg)]
    _write(path, keys)
    return str(keys[-1]["jwk"]["kid"])


class KeyRing:
    """The keys of one data dir, re-read when the file changes."""

    def __init__(self, data_dir: Path, alg: str, retention: float) -> None:
        self._path = data_dir / FILE
        self._alg = alg
        self._retention = retention
        self._mtime = -1.0
        self._signer: RSAKey | None = None
        self._keys: list[tuple[float | None, RSAKey]] = []  # (retired at, key)
        if not _read(self._path):
            _write(self._path, [_new_key(alg)])
        os.chmod(self._path, 0o600)
        self.reload()

    def reload(self) -> bool:
        """Re-read the file if it changed; True when it did."""
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return False
        keys = _live(_read(self._path), self._retention, time.time())
        current = [k for k in keys if k.get("retired") is None]
        if not current:
            raise ValueError(f"{self._path}: no current signing key")
        self._signer = RSAKey.import_key(current[-1]["jwk"])
        self._keys = [(k.get("retired"), RSAKey.import_key(k["jwk"])) for k in keys]
        self._mtime = mtime
        return True

    @property
    def signer(self) -> RSAKey:
        assert self._signer is not None
        return self._signer

    @property
    def alg(self) -> str:
        return str(self.signer.get("alg") or self._alg)

    def _published(self) -> list[RSAKey]:
        now = time.time()
        return [key for retired, key in self._keys if retired is None or float(retired) + self._retention > now]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self._published()]}

    @property
    def verify_keys(self) -> KeySet:
        return KeySet(list[Any](self._published()))
