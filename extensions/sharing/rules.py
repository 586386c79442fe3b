"""What a share request must meet before anything is stored: permission bits, expiry, names, tokens."""

from __future__ import annotations

import secrets
import string
import time
import unicodedata

from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1.contract import forbidden, invalid

USER, GROUP, LINK = 0, 1, 3
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 15  # as ownCloud's link tokens
MAX_NAME = 255


def wanted_bits(requested: int, share_type: int, is_folder: bool) -> int:
    """The bits a share gets: 1..31, masked to what means something on the resource (links never
    pass the share bit on); a user or group share must at least read."""
    if not 1 <= requested <= bits.ALL:
        raise invalid("bad-permissions", f"permissions must be 1 to {bits.ALL}, not {requested}")
    wanted = bits.applicable(requested, is_folder)
    if share_type == LINK:
        wanted &= ~bits.SHARE
    elif not wanted & bits.READ:
        raise invalid("bad-permissions", "a user or group share needs the read permission")
    if not wanted:
        raise invalid("bad-permissions", f"permissions {requested} mean nothing on a file")
    return wanted


def check_within(wanted: int, held: int) -> None:
    """The sharer must hold the share bit and every bit passed on."""
    if not held & bits.SHARE:
        raise forbidden("no-share-permission", "you may not share this resource")
    if not bits.within(wanted, held):
        raise forbidden("exceeds-permissions", f"cannot grant permissions {wanted}: you hold {held}")


def check_expiry(expires: int) -> int:
    if expires < 0 or (expires and expires <= time.time()):
        raise invalid("expired", "the expiry date must be in the future")
    return expires


def check_mount_point(name: str) -> str:
    if len(name) > MAX_NAME or name in (".", "..") or name != name.strip():
        raise invalid("bad-mount-point", f"invalid mount point {name!r}")
    if any(ch == "/" or unicodedata.category(ch).startswith("C") for ch in name):
        raise invalid("bad-mount-point", "a mount point must not contain '/' or control characters")
    return name


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise invalid("bad-name", f"a link name is at most {MAX_NAME} printable characters")
    return name


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
