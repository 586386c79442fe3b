from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class AuthMachineConfig:
    """The key is the shared machine_auth_api_key (OCIS_MACHINE_AUTH_API_KEY)."""

    grpc_addr: str = setting("127.0.0.1:9166", "gRPC address of the AuthMachine service.")
    debug_addr: str = setting("127.0.0.1:9167", "Debug address: /healthz, /readyz, /metrics.")
