from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class BusConfig:
    """The broker's addresses are the shared keys bus_pub_addr and bus_sub_addr."""

    debug_addr: str = setting("127.0.0.1:9235", "Debug address: /healthz, /readyz, /metrics.")
