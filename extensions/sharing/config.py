from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class SharingConfig:
    grpc_addr: str = setting("127.0.0.1:9150", "gRPC address of the Sharing service.")
    debug_addr: str = setting("127.0.0.1:9151", "Debug address: /healthz, /readyz, /metrics.")
    driver: str = setting("sqlite", "Share store: sqlite, or a dotted path module:Class of a third-party store.")
