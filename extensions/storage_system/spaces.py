"""One space, `system`, owned by and open to the system user only."""

from __future__ import annotations

from ocisd.api.storage.v1 import errors
from ocisd.identity import Identity
from ocisd.storage.resources import Space
from ocisd.storage.service.spaces import SpacePolicy

SYSTEM_SPACE = "system"


class SystemSpace(SpacePolicy):
    fixed = (SYSTEM_SPACE,)

    def __init__(self, system_user_id: str) -> None:
        self.system_user_id = system_user_id

    def home(self, who: Identity) -> tuple[str, str]:
        if who.user_id != self.system_user_id:
            raise errors.forbidden("the system space is for the system user only")
        return SYSTEM_SPACE, self.system_user_id

    def check(self, who: Identity, space: Space) -> None:
        if who.user_id != self.system_user_id:
            raise errors.forbidden("the system space is for the system user only")
