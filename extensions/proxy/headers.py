"""Header rules at the front door: who the client is, what goes upstream, what every response carries."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ocisd import handover

from .firewall import IPAddress, in_networks, parse_ip
from .rules import Network

# RFC 9110 7.6.1 plus the non-standard ones proxies still see; Expect is answered here.
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    )
)
FORWARDED = frozenset(("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded"))
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
HSTS = "max-age=31536000"
NOT_FOR_CLIENTS = HOP_BY_HOP | {handover.HEADER.lower()}  # response headers that end at the proxy
_IDS = random.Random()  # request ids need to be unique, not secret: no syscall per request


@dataclass(frozen=True)
class Client:
    """The client behind a connection: its IP (from X-Forwarded-For only via a trusted peer) and scheme."""

    ip: IPAddress | None
    peer_trusted: bool
    proto: str
    host: str


def client_of(request: web.BaseRequest, trusted: Sequence[Network], tls: bool) -> Client:
    peer = parse_ip(request.remote or "")
    proto = "https" if tls else "http"
    host = request.headers.get("Host", "")
    if peer is None or not trusted or not in_networks(peer, trusted):
        return Client(peer, False, proto, host)
    ip: IPAddress | None = peer
    # Walk right to left past our own balancers: the first untrusted hop is the client.
    hops = [h for v in request.headers.getall("X-Forwarded-For", ()) for h in v.split(",")]
    for hop in reversed(hops):
        addr = parse_ip(hop)
        if addr is None:
            break
        ip = addr
        if not in_networks(addr, trusted):
            break
    proto = request.headers.get("X-Forwarded-Proto", proto).split(",")[0].strip().lower() or proto
    host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip() or host
    return Client(ip, True, proto, host)


def request_id_of(request: web.BaseRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else f"{_IDS.getrandbits(128):032x}"


def _connection_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    return {t.strip().lower() for v in headers.getall("Connection", ()) for t in v.split(",")}


def upstream_request_headers(
    request: web.BaseRequest, client: Client, request_id: str, extra: dict[str, str], strip: Iterable[str]
) -> CIMultiDict[str]:
    """The client's headers minus hop-by-hop and forged ones, plus X-Forwarded-* and the request id."""
    drop = HOP_BY_HOP | _connection_tokens(request.headers) | {s.lower() for s in strip} | FORWARDED
    drop |= {k.lower() for k in extra} | {"x-request-id"}
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in request.headers.items():
        if key.lower() not in drop:
            out.add(key, value)
    peer = request.remote or ""
    prior = ", ".join(request.headers.getall("X-Forwarded-For", ())) if client.peer_trusted else ""
    out["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    out["X-Forwarded-Proto"] = client.proto
    if client.host:
        out["X-Forwarded-Host"] = client.host
    out["X-Request-ID"] = request_id
    out.update(extra)
    return out


def client_response_headers(upstream: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The upstream's response headers minus hop-by-hop ones and the hand-over between us."""
    drop = NOT_FOR_CLIENTS | _connection_tokens(upstream)
    return CIMultiDict((k, v) for k, v in upstream.items() if k.lower() not in drop)


def add_security_headers(headers: CIMultiDict[str], tls: bool, request_id: str) -> None:
    """What every response carries; an upstream's own choice of the same header wins."""
    headers["X-Request-ID"] = request_id
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if tls:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if headers.get("Content-Type", "").startswith("text/html"):
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Content-Security-Policy", "frame-ancestors 'self'")
