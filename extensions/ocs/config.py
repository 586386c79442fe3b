from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class OcsConfig:
    http_addr: str = setting(
        "127.0.0.1:9110", "HTTP address: OCS provisioning API (users, groups, signing key) and share API."
    )
    debug_addr: str = setting("127.0.0.1:9114", "Debug address: /healthz, /readyz, /metrics.")
