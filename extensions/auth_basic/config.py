from dataclasses import dataclass

from ocisd.config.schema import Duration, setting


@dataclass
class AuthBasicConfig:
    grpc_addr: str = setting("127.0.0.1:9146", "gRPC address of the AuthBasic service.")
    debug_addr: str = setting("127.0.0.1:9147", "Debug address: /healthz, /readyz, /metrics.")
    cache_ttl: Duration = setting(Duration(30.0), "How long a verified login is reused without argon2 (0: off).")
    cache_size: int = setting(10000, "Most verified logins kept in the cache.")
    throttle_free_attempts: int = setting(3, "Failed logins per username and client address before delays begin.")
    throttle_base_delay: Duration = setting(Duration(0.5), "First delay; it doubles with each further failure.")
    throttle_max_delay: Duration = setting(Duration(8.0), "Longest delay before a login attempt is checked.")
    user_ip_lockout: int = setting(
        10, "Failures per username and client address after which that pair gets 429 for the cool-down."
    )
    ip_lockout: int = setting(
        50,
        "Failures per client address, any username, after which it gets 429 for the cool-down"
        " (IPv6 per /64; requests without an address share one bucket).",
    )
    throttle_cooldown: Duration = setting(Duration(300.0), "How long failures are remembered and a lockout lasts.")
