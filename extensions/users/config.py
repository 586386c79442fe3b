from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class UsersConfig:
    grpc_addr: str = setting("127.0.0.1:9144", "gRPC address of the Users service.")
    debug_addr: str = setting("127.0.0.1:9145", "Debug address: /healthz, /readyz, /metrics.")
    driver: str = setting("sqlite", "User backend: sqlite, or a dotted path module:Class of a third-party backend.")
    argon2_time_cost: int = setting(3, "argon2id passes; a change rehashes each password at its next login.")
    argon2_memory_cost: int = setting(65536, "argon2id memory in KiB; a change rehashes at the next login.")
    argon2_parallelism: int = setting(4, "argon2id lanes; a change rehashes at the next login.")
