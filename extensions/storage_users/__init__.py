"""storage-users: one personal space per user behind a storage driver; gRPC API plus data server.

The driver, upload sessions, servicers and data server are the storage library
(`ocisd.storage`); this extension adds its config and its space policy.
"""

from __future__ import annotations

from ocisd.extension import Context
from ocisd.storage.service.extension import StorageExtension

from .commands import TRASH_BIN
from .config import StorageUsersConfig
from .spaces import PersonalSpaces


class StorageUsers(StorageExtension):
    name = "storage-users"
    summary = "personal spaces: storage driver, ocisd.storage.v1 gRPC API and signed-URL data server"
    config = StorageUsersConfig
    commands = (TRASH_BIN,)

    def spaces(self, ctx: Context) -> PersonalSpaces:
        return PersonalSpaces()
