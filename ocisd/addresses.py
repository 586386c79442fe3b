"""Listen addresses as written in config (`host:port` or `[v6]:port`), and the addresses dialled for them.

Two kinds of dialled address: `connectable` for a client on this host (a wildcard
listener is reached over loopback: the CLI, health checks, the runtime's control
endpoint) and `advertised` for peers on any host (what the bus announces).
"""

from __future__ import annotations

import functools
import socket

from ocisd.config.schema import ConfigError

WILDCARDS = ("0.0.0.0", "", "::")
# Documentation addresses (RFC 5737, RFC 3849): a UDP connect to one picks the source address of the
# default route without sending a packet.
_PROBES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))


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


def advertised(addr: str, advertise_host: str = "") -> str:
    """The address peers on other hosts dial for a listen address: a specific host as it is; for a
    wildcard, `advertise_host` (OCIS_ADVERTISE_HOST), else this host's address on its default route,
    else loopback."""
    host, port = split(addr)
    if host not in WILDCARDS:
        return join(host, port)
    v6 = host == "::"  # dual-stack: reached over IPv4 and IPv6
    return join(advertise_host or default_route_host(v6) or ("::1" if v6 else "127.0.0.1"), port)


def host_address(advertise_host: str = "") -> str:
    """This host's address for peers: `advertise_host`, else its default route's, else loopback."""
    return advertise_host or default_route_host(True) or "127.0.0.1"


@functools.cache
def default_route_host(v6: bool = False) -> str:
    """This host's source address towards the default route (IPv4 first, IPv6 when `v6`), "" when none."""
    for family, probe in _PROBES[: 2 if v6 else 1]:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                return str(s.getsockname()[0])
        except OSError:
            continue
    return ""


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
