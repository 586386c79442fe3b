from dataclasses import dataclass

from ocisd.config.schema import Duration, setting


@dataclass
class SettingsConfig:
    http_addr: str = setting("127.0.0.1:9190", "HTTP address: the /api/v0/settings/ API.")
    grpc_addr: str = setting("127.0.0.1:9191", "gRPC address of the Settings service.")
    debug_addr: str = setting("127.0.0.1:9194", "Debug address: /healthz, /readyz, /metrics.")
    role_cache_ttl: Duration = setting(
        Duration(10.0),
        "How long a user's role is remembered between store lookups; changes through any settings"
        " instance clear it at once (bus event settings.changed).",
    )
