from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class StorageSharesConfig:
    grpc_addr: str = setting("127.0.0.1:9154", "gRPC address: the storage API for the /Shares folder of each user.")
    debug_addr: str = setting("127.0.0.1:9156", "Debug address: /healthz, /readyz, /metrics.")
