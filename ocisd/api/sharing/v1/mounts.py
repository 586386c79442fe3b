"""Where accepted shares appear: the `/Shares` folder of a recipient's home, served by storage-shares.

The gateway sends a home-space reference at `/Shares` or below to storage-shares;
entries there carry ownCloud's permission letters built from the storage's
permission bits (`letters`).
"""

from __future__ import annotations

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import permissions as bits

FOLDER = "Shares"
PATH = "/" + FOLDER
PROVIDER = "storage-shares"  # the extension serving it
EVENT_PREFIX = "share-"  # share-created, share-updated, share-removed, share-accepted


def below_shares(ref: pb.Reference, home_space: str) -> bool:
    """True for a path reference in the caller's home at `/Shares` or below."""
    if ref.node_id or ref.space_id not in ("", home_space):
        return False
    path = ref.path.rstrip("/")
    return path == PATH or path.startswith(PATH + "/")


def letters(held: int, is_folder: bool) -> str:
    """oc:permissions of something shared with the caller: S(hared), R(eshare), M(ounted), then what it may do."""
    out = "S" + ("R" if held & bits.SHARE else "") + "M"
    out += "D" if held & bits.DELETE else ""
    out += "NV" if held & bits.UPDATE else ""
    if is_folder:
        return out + ("CK" if held & bits.CREATE else "")
    return out + ("W" if held & bits.UPDATE else "")
