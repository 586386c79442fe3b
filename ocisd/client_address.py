"""The client's address as the proxy saw it, carried to public routes so that only the proxy can say it.

Public routes (idp's sign-in form, a public link's landing page) carry no internal
token, yet the login throttles key on the client's address. The proxy sends it as
a short-lived HS256 JWT signed with `OCIS_JWT_SECRET` (PyJWT, as the internal
token); a request that reaches the extension any other way, or with a header that
does not verify, counts as coming from its own connection's peer, so naming
another address buys nothing.
"""

from __future__ import annotations

import time

import jwt
from aiohttp import web

HEADER = "X-Ocisd-Client-Ip"
AUDIENCE = "ocisd-client-address"
TTL = 60


class Signer:
    """The proxy's side: one signed value per address, reused for half its lifetime."""

    MAX = 4096

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._signed: dict[str, tuple[float, str]] = {}

    def sign(self, ip: str) -> str:
        now = time.time()
        cached = self._signed.get(ip)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = jwt.encode({"aud": AUDIENCE, "ip": ip, "exp": int(now) + TTL}, self._secret, algorithm="HS256")
        if len(self._signed) >= self.MAX:
            self._signed.clear()
        self._signed[ip] = (now + TTL / 2, value)
        return value


class Reader:
    """A public route's side."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def of(self, request: web.BaseRequest) -> str:
        """The address the proxy signed for this request, else the connection's peer."""
        value = request.headers.get(HEADER, "")
        if value:
            try:
                claims = jwt.decode(value, self._secret, algorithms=["HS256"], audience=AUDIENCE)
            except jwt.PyJWTError:
                claims = {}
            ip = claims.get("ip")
            if isinstance(ip, str) and ip:
                return ip
        return request.remote or ""
