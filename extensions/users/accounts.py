"""User accounts: create, look up, passwords (argon2id, rehash on login), app tokens, the admin.

Every change that may invalidate a cached login (password, enabled, deletion,
token revocation) is reported through `on_change(user_id, what)`, which the
extension publishes on the bus for the auth extensions.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable

from ocisd.api.identity.v1.contract import InvalidValue, NotFound, key, valid_email, validate
from ocisd.directory import Directory
from ocisd.directory.worker import Worker

from .backends import Base, TokenRecord, UserRecord
from .passwords import Passwords

MAX_PASSWORD = 1024
MAX_FIELD = 1024
ADMIN_USERNAME = "admin"


def _check_password(password: str) -> None:
    if not password or len(password) > MAX_PASSWORD:
        raise InvalidValue(f"password must be 1 to {MAX_PASSWORD} characters")


def _check_fields(display_name: str | None, email: str | None) -> None:
    if any(v is not None and len(v) > MAX_FIELD for v in (display_name, email)):
        raise InvalidValue(f"display name and email must be at most {MAX_FIELD} characters")
    if email is not None and not valid_email(email):
        raise InvalidValue(f"not a valid e-mail address: {email!r}")


def _token_hash(secret: str) -> str:
    # App token secrets are 256 random bits: a fast hash is enough, and a stolen database reveals none.
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts(Directory[UserRecord, Base]):
    noun = "user"

    def __init__(self, worker: Worker[Base], passwords: Passwords, on_change: Callable[[str, str], None]) -> None:
        super().__init__(worker)
        self._passwords = passwords
        self._on_change = on_change

    async def create(
        self, username: str, password: str, display_name: str = "", email: str = "", user_id: str = ""
    ) -> UserRecord:
        validate(username)
        _check_password(password)
        _check_fields(display_name, email)
        if user_id:
            try:
                user_id = str(uuid.UUID(user_id))
            except ValueError:
                raise InvalidValue("id must be a UUID") from None
        user = UserRecord(
            id=user_id or str(uuid.uuid4()),
            username=username,
            display_name=display_name or username,
            email=email,
            enabled=True,
            created=time.time(),
            password_hash=await self._passwords.hash(password),
        )
        await self.add(user, username)
        return user

    async def update(self, user_id: str, display_name: str | None, email: str | None) -> UserRecord:
        _check_fields(display_name, email)
        if not await self._run(self._backend.update, user_id, display_name, email):
            raise self.missing(user_id)
        return await self.get(user_id)

    async def set_password(self, user_id: str, password: str) -> None:
        _check_password(password)
        await self.get(user_id)
        await self._run(self._backend.set_password_hash, user_id, await self._passwords.hash(password))
        self._on_change(user_id, "password")

    async def set_enabled(self, user_id: str, enabled: bool) -> UserRecord:
        if not await self._run(self._backend.set_enabled, user_id, enabled):
            raise self.missing(user_id)
        self._on_change(user_id, "enabled" if enabled else "disabled")
        return await self.get(user_id)

    async def delete(self, user_id: str) -> None:
        await super().delete(user_id)
        self._on_change(user_id, "deleted")

    async def verify_password(self, username: str, password: str) -> UserRecord | None:
        """The user when the password is right and the account enabled; None otherwise, in the same time."""
        user = await self._run(self._backend.by_name, key(username)) if username and len(username) <= 255 else None
        ok = await self._passwords.verify(user.password_hash if user else None, password[:MAX_PASSWORD])
        if not ok or user is None or not user.enabled:
            return None
        if self._passwords.needs_rehash(user.password_hash):
            await self._run(self._backend.set_password_hash, user.id, await self._passwords.hash(password))
        return user

    async def create_token(self, user_id: str, label: str, ttl: float) -> tuple[TokenRecord, str]:
        await self.get(user_id)
        if ttl < 0:
            raise InvalidValue("ttl must not be negative")
        secret = secrets.token_urlsafe(32)
        now = time.time()
        token = TokenRecord(str(uuid.uuid4()), user_id, label, now, now + ttl if ttl else 0.0)
        await self._run(self._backend.add_token, token, _token_hash(secret))
        return token, secret

    async def tokens(self, user_id: str) -> list[TokenRecord]:
        return await self._run(self._backend.tokens, user_id)

    async def revoke_token(self, token_id: str) -> TokenRecord:
        found = await self._run(self._backend.delete_token, token_id)
        if found is None:
            raise NotFound(f"no app token with id {token_id!r}")
        self._on_change(found.user_id, "token-revoked")
        return found

    async def verify_token(self, secret: str) -> UserRecord | None:
        """The enabled owner of an unexpired app token, or None."""
        token = await self._run(self._backend.token_by_hash, _token_hash(secret)) if secret else None
        if token is None or (token.expires and token.expires < time.time()):
            return None
        user = await self._run(self._backend.get, token.user_id)
        return user if user is not None and user.enabled else None

    async def ensure_admin(self, user_id: str, password: str) -> str:
        """Create the admin on first start; an existing admin is never reset. Returns what happened."""
        if not user_id or not password:
            return "skipped: admin_user_id or admin_password is not configured"
        if await self._run(self._backend.get, user_id) is not None:
            return "exists"
        if await self._run(self._backend.by_name, key(ADMIN_USERNAME)) is not None:
            return f"skipped: a user named {ADMIN_USERNAME!r} exists with another id"
        await self.create(ADMIN_USERNAME, password, "Admin", user_id=user_id)
        return "created"
