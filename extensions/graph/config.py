from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class GraphConfig:
    http_addr: str = setting("127.0.0.1:9120", "HTTP address: the Libre Graph API (/graph/v1.0, /graph/v1beta1).")
    debug_addr: str = setting("127.0.0.1:9124", "Debug address: /healthz, /readyz, /metrics.")
