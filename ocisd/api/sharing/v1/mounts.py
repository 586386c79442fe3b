"""Where accepted shares appear: the `/Shares` folder of a recipient's home, served by storage-shares.

The gateway sends a home-space reference at `/Shares` or below to storage-shares;
entries there carry ownCloud's permission letters: the storage's (which follow
the caller's bits there) plus S and M (`letters`).
"""

from __future__ import annotations

from ocisd.api.storage.v1 import storage_pb2 as pb

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


def letters(storage_letters: str) -> str:
    """oc:permissions of something shared with the caller: S(hared), R(eshare) when the storage's
    letters hold it, M(ounted), then the storage's other letters (D, NV, W or CK)."""
    reshare = "R" if "R" in storage_letters else ""
    return "S" + reshare + "M" + storage_letters.replace("R", "")
