from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class HelloConfig:
    http_addr: str = setting("127.0.0.1:9105", "HTTP address: the greet API and the /hello/ page.")
    grpc_addr: str = setting("127.0.0.1:9106", "gRPC address of the Hello service.")
    debug_addr: str = setting("127.0.0.1:9109", "Debug address: /healthz, /readyz, /metrics.")
    greeting: str = setting("Hello %s", "Greeting template; %s is replaced by the name.")
