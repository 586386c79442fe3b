"""The plain-HTTP listener of ACME: it answers HTTP-01 challenges and sends everything else to HTTPS.

The answers come from the store, so whichever proxy instance on the host
takes the CA's connection answers for the one that ordered; the port is
bound with SO_REUSEPORT so several instances can all listen on :80. The
redirect goes to OCIS_URL's origin, never to a Host header a stranger chose.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from ocisd import addresses

from .certstore import CertStore

PREFIX = "/.well-known/acme-challenge/"


class ChallengeListener:
    def __init__(self, store: CertStore, public_url: str) -> None:
        self._store = store
        parts = urlsplit(public_url)
        self._origin = f"https://{parts.netloc}"
        self._runner: web.ServerRunner | None = None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path.startswith(PREFIX):
            answer = self._store.challenge(request.path.removeprefix(PREFIX))
            if answer is None:
                return web.Response(status=404, text="no such challenge\n")
            return web.Response(body=answer, content_type="application/octet-stream")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=403, text="plain HTTP only serves ACME challenges; use HTTPS\n")
        return web.Response(status=308, headers={"Location": self._origin + request.rel_url.raw_path_qs})

    async def start(self, addr: str) -> str:
        """Listen on `addr` (PROXY_ACME_HTTP_ADDR); returns the connectable address."""
        host, port = addresses.split(addr, "acme_http_addr")
        self._runner = web.ServerRunner(web.Server(self.handle), handle_signals=False)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port, reuse_port=True).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        return addresses.connectable(addr)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
