"""Verified logins reused for a short while, so a sync client's requests skip argon2.

The key is an HMAC (with a per-process random key) of username and password:
neither is stored, and a memory dump reveals no password. Entries of a user are
dropped at once when the users extension reports a change (password, disabled,
deleted).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from ocisd.api.identity.v1 import auth_pb2


class VerificationCache:
    def __init__(self, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, auth_pb2.AuthResponse]] = {}

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def get(self, username: str, password: str) -> auth_pb2.AuthResponse | None:
        if self._ttl <= 0:
            return None
        digest = self._digest(username, password)
        found = self._entries.get(digest)
        if found is None:
            return None
        if found[0] < time.monotonic():
            del self._entries[digest]
            return None
        return found[1]

    def put(self, username: str, password: str, response: auth_pb2.AuthResponse) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[self._digest(username, password)] = (time.monotonic() + self._ttl, response)

    def forget_user(self, user_id: str) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[1].user.id != user_id}
