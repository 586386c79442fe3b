from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class OcdavConfig:
    http_addr: str = setting("127.0.0.1:9162", "HTTP address of the WebDAV endpoints (routed by the proxy).")
    debug_addr: str = setting("127.0.0.1:9163", "Debug address: /healthz, /readyz, /metrics.")
    propfind_infinity: bool = setting(False, "Allow PROPFIND with `Depth: infinity` (else 403 propfind-finite-depth).")
    max_xml_size: int = setting(1024 * 1024, "Largest request XML body (PROPFIND, PROPPATCH, LOCK) in bytes.")
    list_page_size: int = setting(1000, "Entries fetched per ListContainer page while streaming a PROPFIND.")
    tus_max_size: int = setting(1 << 40, "Largest TUS upload in bytes (Tus-Max-Size).")
