from dataclasses import dataclass

from ocisd.config.schema import Duration, setting

from .authn import PUBLIC_ROUTES


@dataclass
class ProxyConfig:
    http_addr: str = setting("0.0.0.0:9200", "HTTPS (or HTTP with tls=false) address clients connect to.")
    debug_addr: str = setting("127.0.0.1:9205", "Debug address: /healthz, /readyz, /metrics.")
    tls: bool = setting(True, "Serve HTTPS; false serves plain HTTP behind a TLS-terminating balancer.")
    transport_tls_cert: str = setting("", "PEM certificate to serve; empty creates a self-signed one in the data dir.")
    transport_tls_key: str = setting("", "PEM private key of transport_tls_cert.")
    trusted_proxies: list[str] = setting(
        [], "CIDRs of balancers whose X-Forwarded-For/-Proto/-Host are believed (e.g. 10.0.0.0/8)."
    )
    routes: list[str] = setting(
        [], "Extra or overriding routes, PREFIX=EXTENSION or PREFIX=http://host:port (e.g. /dav/=ocdav)."
    )
    rules_file: str = setting("", "Firewall rules file (TOML or YAML), reloaded on SIGHUP and `ocis proxy reload`.")
    max_body_size: int = setting(0, "Largest request body in bytes (0: no limit); rules may set it per route.")
    max_header_size: int = setting(32768, "Largest request line or header field in bytes (431 above).")
    header_timeout: Duration = setting(Duration(30.0), "Time a client gets to send the request headers (408 after).")
    rate_limit: float = setting(0.0, "Requests per second per client IP (0: no limit); 429 above.")
    rate_burst: int = setting(100, "Requests a client IP may send at once before rate_limit applies.")
    upstream_cooldown: Duration = setting(Duration(10.0), "How long an upstream that keeps failing is skipped.")
    no_instance_wait: Duration = setting(
        Duration(5.0),
        "How long a request waits for a live instance of its route (one restarting, or refusing connections "
        "after a crash) before 503 (502 once one refused it); only requests that are safe to send again retry.",
    )
    upstream_timeout: Duration = setting(Duration(3600.0), "Longest wait for an upstream's response headers.")
    access_log: bool = setting(True, "Log one line per request.")
    public_routes: list[str] = setting(PUBLIC_ROUTES, "Paths open without credentials (a trailing / covers all below).")
    auth_cache_ttl: Duration = setting(Duration(10.0), "How long a verified Authorization header is reused (0: off).")
