"""storage-system: the storage-users driver and services serving one `system` space for
other extensions' internal data, usable only with the system user's identity.

It reuses extensions.storage_users (driver, data server, gRPC services) by import
and subclassing; the gateway never routes users here.
"""

from __future__ import annotations

from extensions.storage_users import StorageUsers
from extensions.storage_users.spaces import PersonalSpaces
from ocisd.extension import Context

from .config import StorageSystemConfig
from .spaces import SystemSpace


class StorageSystem(StorageUsers):
    name = "storage-system"
    summary = "the system space for internal data (same driver as storage-users, not visible to users)"
    config = StorageSystemConfig

    def spaces(self, ctx: Context) -> PersonalSpaces:
        return SystemSpace(ctx.shared.system_user_id or "system")
