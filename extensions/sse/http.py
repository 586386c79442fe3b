"""`GET /ocs/v2.php/apps/notifications/api/v1/notifications/sse`: the caller's Server-Sent Events stream.

The path is oCIS's. The caller is the user of the internal token (the proxy's);
service and public-link identities have no notifications. The stream opens
with a comment (so the head and a first byte pass every hop at once), then
carries `id:`/`event:`/`data:` frames and, after `keepalive` seconds without
one, a `: keepalive` comment: idle streams stay open through proxies and a
dead client is found at the next write.
"""

from __future__ import annotations

from aiohttp import web

from ocisd import identity

from .hub import Hub

PATH = "/ocs/v2.php/apps/notifications/api/v1/notifications/sse"
OPENING = b": stream open\n\n"
KEEPALIVE = b": keepalive\n\n"
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",  # nginx in front must not buffer the stream
}


def make_app(hub: Hub, keepalive: float) -> web.Application:
    async def stream(request: web.Request) -> web.StreamResponse:
        who = identity.CURRENT.get()
        if who is None or who.service or who.scope is not None:
            return web.json_response({"error": "notifications are for signed-in users"}, status=401)
        # EventSource sends no header (or an empty one) before it has seen an id: only new events then.
        listener = hub.open(who.user_id, request.headers.get("Last-Event-ID") or None)
        response = web.StreamResponse(headers=HEADERS)
        try:
            await response.prepare(request)
            await response.write(OPENING)
            while (batch := await listener.next(keepalive)) is not None:
                await response.write(b"".join(n.frame() for n in batch) if batch else KEEPALIVE)
        except ConnectionError:  # the client went away (aiohttp's ClientConnectionResetError is one)
            return response
        finally:
            hub.close(listener, "gone")
        await response.write_eof()  # closed here (shutdown, overflow, replaced): a clean end of the stream
        return response

    app = web.Application(client_max_size=1024)
    app.router.add_get(PATH, stream, allow_head=False)  # a HEAD would stream nothing, forever
    return app
