"""Authorization codes, refresh tokens and browser sessions in SQLite (idp.db in the data dir), durable across restarts.

Only SHA-256 digests of codes and refresh tokens are stored. A refresh token
belongs to a family (one sign-in); using it marks it used and issues the
next one of the family; using a used one again revokes the whole family
(a stolen token replayed after its owner moved on, or the other way round).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
    digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, user_id TEXT NOT NULL,
    grant TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refresh (
    digest TEXT PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
    grant TEXT NOT NULL, expires REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, user_id TEXT NOT NULL, grant TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS refresh_family ON refresh(family);
CREATE INDEX IF NOT EXISTS refresh_user ON refresh(user_id);
"""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Grant:
    """What a sign-in granted: the user's claims, scope, nonce and PKCE challenge (codes only)."""

    client_id: str
    user_id: str
    data: dict[str, Any]


class InvalidGrant(Exception):
    """Unknown, expired, reused or foreign code or refresh token."""


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        self._db.close()

    def purge_expired(self) -> None:
        now = time.time()
        self._db.execute("DELETE FROM codes WHERE expires < ?", (now,))
        self._db.execute("DELETE FROM refresh WHERE expires < ?", (now,))
        self._db.execute("DELETE FROM sessions WHERE expires < ?", (now,))

    def add_session(self, user_id: str, data: dict[str, Any], ttl: float) -> str:
        """A browser's sign-in at idp (single sign-on for its further authorize requests)."""
        secret = new_secret()
        self._db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?)", (_digest(secret), user_id, json.dumps(data), time.time() + ttl)
        )
        return secret

    def session(self, secret: str) -> Grant | None:
        row = self._db.execute(
            "SELECT user_id, grant, expires FROM sessions WHERE digest = ?", (_digest(secret),)
        ).fetchone()
        return Grant("", row[0], json.loads(row[1])) if row is not None and row[2] >= time.time() else None

    def end_session(self, secret: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(secret),))

    def add_code(self, client_id: str, redirect_uri: str, user_id: str, data: dict[str, Any], ttl: float) -> str:
        code = new_secret()
        self._db.execute(
            "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?)",
            (_digest(code), client_id, redirect_uri, user_id, json.dumps(data), time.time() + ttl),
        )
        return code

    def take_code(self, code: str, client_id: str, redirect_uri: str) -> Grant:
        """The code's grant, deleted at once: a code is good for one exchange."""
        row = self._db.execute(
            "DELETE FROM codes WHERE digest = ? RETURNING client_id, redirect_uri, user_id, grant, expires",
            (_digest(code),),
        ).fetchone()
        if row is None or row[4] < time.time():
            raise InvalidGrant("unknown or expired authorization code")
        if row[0] != client_id or row[1] != redirect_uri:
            raise InvalidGrant("the code was issued to another client or redirect_uri")
        return Grant(row[0], row[2], json.loads(row[3]))

    def add_refresh(self, grant: Grant, ttl: float, family: str = "") -> str:
        token = new_secret()
        self._db.execute(
            "INSERT INTO refresh (digest, family, client_id, user_id, grant, expires) VALUES (?, ?, ?, ?, ?, ?)",
            (
                _digest(token),
                family or new_secret(),
                grant.client_id,
                grant.user_id,
                json.dumps(grant.data),
                time.time() + ttl,
            ),
        )
        return token

    def rotate_refresh(self, token: str, client_id: str, ttl: float) -> tuple[Grant, str]:
        """(the grant, the family's next token); the presented token is used up."""
        # One immediate transaction: two concurrent uses of one token cannot both succeed.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            grant, family, refused = self._use_refresh(token, client_id)
            next_token = "" if refused else self.add_refresh(grant, ttl, family)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")  # also when refused: a reuse's revocation must stick
        if refused:
            raise InvalidGrant(refused)
        return grant, next_token

    def _use_refresh(self, token: str, client_id: str) -> tuple[Grant, str, str]:
        """(grant, family, why it is refused or "") inside rotate_refresh's transaction."""
        row = self._db.execute(
            "SELECT family, client_id, user_id, grant, expires, used FROM refresh WHERE digest = ?",
            (_digest(token),),
        ).fetchone()
        if row is None or row[4] < time.time():
            return Grant(client_id, "", {}), "", "unknown, expired or revoked refresh token"
        family, owner, user_id, data, _, used = row
        grant = Grant(owner, user_id, json.loads(data))
        if used:
            self._db.execute("DELETE FROM refresh WHERE family = ?", (family,))
            return grant, family, "refresh token reused: the sign-in is revoked"
        if owner != client_id:
            return grant, family, "the refresh token was issued to another client"
        self._db.execute("UPDATE refresh SET used = 1 WHERE digest = ?", (_digest(token),))
        return grant, family, ""

    def revoke_user(self, user_id: str, client_id: str = "") -> int:
        """Every refresh token of the user (of one client when given; else its browser sessions too)."""
        if client_id:
            cur = self._db.execute("DELETE FROM refresh WHERE user_id = ? AND client_id = ?", (user_id, client_id))
        else:
            self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            cur = self._db.execute("DELETE FROM refresh WHERE user_id = ?", (user_id,))
        return cur.rowcount
