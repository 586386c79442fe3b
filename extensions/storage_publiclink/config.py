from dataclasses import dataclass

from ocisd.config.schema import Duration, setting
from ocisd.throttle import ThrottleSettings


@dataclass
class StoragePubliclinkConfig(ThrottleSettings):
    """The subject of the throttle is the link token; unknown tokens count as failures too."""

    grpc_addr: str = setting("127.0.0.1:9178", "gRPC address of the PublicLinks service.")
    debug_addr: str = setting("127.0.0.1:9179", "Debug address: /healthz, /readyz, /metrics.")
    token_ttl: Duration = setting(Duration(300.0), "Lifetime of the internal token a link's visitor gets.")
    link_ip_lockout: int = setting(
        10, "Failures per link and client address after which that pair gets 429 for the cool-down."
    )
