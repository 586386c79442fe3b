from dataclasses import dataclass

from ocisd.config.schema import Duration, Size, setting


@dataclass
class StoreConfig:
    grpc_addr: str = setting("127.0.0.1:9460", "gRPC address of the Store service.")
    debug_addr: str = setting("127.0.0.1:9464", "Debug address: /healthz, /readyz, /metrics.")
    driver: str = setting(
        "sqlite",
        "Where the records live: sqlite (a file in the data dir) or postgres (schema `store`, see postgres_dsn).",
    )
    max_value_size: Size = setting(Size(1 << 20), "Largest value one record may hold; larger writes are refused.")
    sweep_interval: Duration = setting(
        Duration(60.0), "How often expired records are deleted (reads never see them in between)."
    )
