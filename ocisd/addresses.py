"""Listen addresses as written in config: `host:port` or `[v6]:port`."""

from __future__ import annotations

from ocisd.config.schema import ConfigError


def split(addr: str, key: str = "address") -> tuple[str, int]:
    """`127.0.0.1:9200` → ("127.0.0.1", 9200); `[::1]:9200` → ("::1", 9200)."""
    host, sep, port_text = addr.rpartition(":")
    if not sep or not port_text.isdigit() or not (0 <= int(port_text) <= 65535):
        raise ConfigError(f"{key}: expected host:port, found {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


def join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connectable(addr: str) -> str:
    """The address a peer on this host dials for a listen address (wildcards become loopback)."""
    host, port = split(addr)
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return join(host, port)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
