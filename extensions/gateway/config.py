from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class GatewayConfig:
    grpc_addr: str = setting("127.0.0.1:9142", "gRPC address: the storage API front (ocisd.storage.v1).")
    debug_addr: str = setting("127.0.0.1:9143", "Debug address: /healthz, /readyz, /metrics.")
    storage_providers: list[str] = setting(
        ["storage-users"], "Extensions holding personal spaces; each instance announces its home range."
    )
    shares_provider: str = setting(
        "storage-shares", "Extension serving each home's /Shares folder (accepted received shares)."
    )
