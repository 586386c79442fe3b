from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class BusConfig:
    """The broker's addresses are the shared keys bus_pub_addr and bus_sub_addr (a pair of each list)."""

    broker: int = setting(
        0,
        "Which broker this is when bus_pub_addr and bus_sub_addr list several: it binds that pair of "
        "addresses (0: the first).",
    )
    debug_addr: str = setting("127.0.0.1:9235", "Debug address: /healthz, /readyz, /metrics.")
