"""Which user and group names are valid, and the key that makes them case-insensitive."""

from __future__ import annotations

import unicodedata

MAX_NAME = 255


class InvalidName(ValueError):
    """A name that is empty, too long, or contains `/` or a control character."""


def validate(name: str, what: str = "username") -> str:
    if not name or len(name) > MAX_NAME:
        raise InvalidName(f"{what} must be 1 to {MAX_NAME} characters")
    if name != name.strip():
        raise InvalidName(f"{what} must not start or end with white space")
    for ch in name:
        if ch == "/" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise InvalidName(f"{what} must not contain '/' or control characters")
    return name


def key(name: str) -> str:
    """The case-insensitive identity of a name (Unicode case folding, not only ASCII)."""
    return unicodedata.normalize("NFC", name).casefold()
