"""Who owns which space: personal spaces for storage-users (one per user, made on first use).

storage-system swaps in its own policy (one system space, for the system user
only); the gateway uses `home_space_id` to find a user's personal space.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from ocisd.identity import Identity

from . import errors
from .resources import Space

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def home_space_id(user_id: str) -> str:
    """The personal space id of a user: the user id itself when it is a safe token."""
    if _SAFE_ID.fullmatch(user_id):
        return user_id
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ocisd:user:{user_id}").hex


def shard(space_id: str) -> str:
    """Two hex digits deciding which storage-users instance holds a personal space."""
    return hashlib.sha1(space_id.encode()).hexdigest()[:2]


class PersonalSpaces:
    """Every user has one space and may use only it."""

    fixed: tuple[str, ...] = ()

    def home(self, who: Identity) -> tuple[str, str]:
        """(space id, owner) of the caller's home."""
        return home_space_id(who.user_id), who.user_id

    def check(self, who: Identity, space: Space) -> None:
        if space.owner != who.user_id:
            raise errors.forbidden("not your space")
