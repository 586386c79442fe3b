"""Personal spaces: one per user, made on first use, open to its owner only.

The space id is `home_space_id(user)` from the storage contract, which the
gateway uses as well to route a user's requests to the instance holding it.
"""

from __future__ import annotations

from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.identity import Identity
from ocisd.storage.resources import Space
from ocisd.storage.service.spaces import SpacePolicy


class PersonalSpaces(SpacePolicy):
    """Every user has one space and may use only it."""

    def home(self, who: Identity) -> tuple[str, str]:
        return home_space_id(who.user_id), who.user_id

    def check(self, who: Identity, space: Space) -> None:
        if space.owner != who.user_id:
            raise errors.forbidden("not your space")
