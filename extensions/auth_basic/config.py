from dataclasses import dataclass

from ocisd.config.schema import Duration, setting
from ocisd.throttle import ThrottleSettings


@dataclass
class AuthBasicConfig(ThrottleSettings):
    """The subject of the throttle is the username."""

    grpc_addr: str = setting("127.0.0.1:9146", "gRPC address of the AuthBasic service.")
    debug_addr: str = setting("127.0.0.1:9147", "Debug address: /healthz, /readyz, /metrics.")
    cache_ttl: Duration = setting(Duration(30.0), "How long a verified login is reused without argon2 (0: off).")
    cache_size: int = setting(10000, "Most verified logins kept in the cache.")
    user_ip_lockout: int = setting(
        10, "Failures per username and client address after which that pair gets 429 for the cool-down."
    )
