from dataclasses import dataclass

from ocisd.config.schema import setting
from ocisd.storage.service.config import StorageConfig


@dataclass
class StorageSystemConfig(StorageConfig):
    grpc_addr: str = setting("127.0.0.1:9215", "gRPC address of the storage API for the system space.")
    http_addr: str = setting("127.0.0.1:9216", "Data HTTP address: signed upload and download URLs.")
    debug_addr: str = setting("127.0.0.1:9217", "Debug address: /healthz, /readyz, /metrics.")
    provider_id: str = setting("system", "Name of this storage provider.")
    home_range: str = setting("00-00", "Unused here: the system space is served regardless of range.")
