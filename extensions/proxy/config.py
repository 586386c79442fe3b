import re
from dataclasses import dataclass
from pathlib import Path

from ocisd import addresses
from ocisd.config.schema import ConfigError, Duration, setting

from .authn import PUBLIC_ROUTES

# A DNS name HTTP-01 can prove: labels of letters, digits and inner hyphens (no wildcard, no IP address).
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$", re.IGNORECASE)


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
    acme_directory: str = setting(
        "", "ACME directory URL to obtain and renew the certificate from (e.g. Let's Encrypt's); empty: ACME off."
    )
    acme_email: str = setting("", "Contact address given to the ACME CA for expiry and policy notices.")
    acme_domains: list[str] = setting([], "Names the ACME certificate covers; empty: the host of OCIS_URL.")
    acme_http_addr: str = setting(
        "0.0.0.0:80", "Plain-HTTP address answering ACME HTTP-01 challenges; every other request is sent to HTTPS."
    )
    acme_ca_bundle: str = setting("", "PEM CA certificates trusted for the ACME directory's HTTPS (a private CA).")
    acme_renew_before: Duration = setting(
        Duration(30 * 86400.0), "Renew this long before expiry (at most half the certificate's lifetime)."
    )


def check_acme(cfg: ProxyConfig) -> None:
    """Refuse ACME settings that cannot work, before anything starts."""
    if not cfg.acme_directory:
        return
    if not cfg.acme_directory.startswith("https://"):
        raise ConfigError(f"proxy acme_directory: an https:// URL is required (RFC 8555), got {cfg.acme_directory!r}")
    if not cfg.tls:
        raise ConfigError("proxy acme_directory: ACME needs tls=true (behind a TLS-terminating balancer, leave it off)")
    if cfg.transport_tls_cert:
        raise ConfigError("proxy acme_directory: set either ACME or transport_tls_cert/transport_tls_key, not both")
    bad = [d for d in cfg.acme_domains if not _DOMAIN.match(d)]
    if bad:
        raise ConfigError(f"proxy acme_domains: {', '.join(bad)}: not a DNS name HTTP-01 can validate")
    if float(cfg.acme_renew_before) <= 0:
        raise ConfigError("proxy acme_renew_before: must be more than 0")
    if cfg.acme_ca_bundle and not Path(cfg.acme_ca_bundle).expanduser().is_file():
        raise ConfigError(f"proxy acme_ca_bundle: {cfg.acme_ca_bundle}: no such file")
    addresses.split(cfg.acme_http_addr, "acme_http_addr")
