from dataclasses import dataclass

from ocisd.storage.service.config import StorageConfig


@dataclass
class StorageUsersConfig(StorageConfig):
    """The storage library's defaults are storage-users' (ports 9157-9159, provider `users`, all shards)."""
