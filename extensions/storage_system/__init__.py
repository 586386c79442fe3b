"""storage-system: the storage library serving one `system` space for other extensions'
internal data, usable only with the system user's identity.

Same driver, data server and gRPC services as storage-users (`ocisd.storage`),
its own config and space policy; the gateway never routes users here.
"""

from __future__ import annotations

from ocisd.extension import Context
from ocisd.storage.service.extension import StorageExtension

from .config import StorageSystemConfig
from .spaces import SystemSpace


class StorageSystem(StorageExtension):
    name = "storage-system"
    summary = "the system space for internal data (same driver as storage-users, not visible to users)"
    config = StorageSystemConfig
    versions = False  # internal data: nobody asks for its history
    holds_revisions = False  # system data must be readable the moment it is written

    def spaces(self, ctx: Context) -> SystemSpace:
        return SystemSpace(ctx.shared.system_user_id or "system")
