from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class GroupsConfig:
    grpc_addr: str = setting("127.0.0.1:9160", "gRPC address of the Groups service.")
    debug_addr: str = setting("127.0.0.1:9161", "Debug address: /healthz, /readyz, /metrics.")
    driver: str = setting("sqlite", "Group backend: sqlite, or a dotted path module:Class of a third-party backend.")
