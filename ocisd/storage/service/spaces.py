"""The seam each storage service fills: whose home a caller has and which spaces a caller may use.

storage-users gives every user one personal space; storage-system one `system`
space for the system user only. The servicers ask the policy before touching a
space; the driver knows nothing of identities.
"""

from __future__ import annotations

import abc

from ocisd.identity import Identity
from ocisd.storage.resources import Space


class SpacePolicy(abc.ABC):
    fixed: tuple[str, ...] = ()  # spaces served whatever their shard (reported by GetProviderInfo)

    @abc.abstractmethod
    def home(self, who: Identity) -> tuple[str, str]:
        """(space id, owner) of the caller's home."""

    @abc.abstractmethod
    def check(self, who: Identity, space: Space) -> None:
        """Raise `errors.forbidden` unless `who` may use `space`."""
