"""The WebDAV router: one handler per method, errors answered as DAV error bodies."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from ocisd import identity
from ocisd.logs import get_logger

from . import (
    chunking,
    copymove,
    delete,
    get,
    landing,
    legacy_chunking,
    lock,
    meta,
    mkcol,
    options,
    propfind,
    proppatch,
    public,
    put,
    report,
    status,
    trashbin,
    tus,
    uploads,
)
from .errors import DavError
from .paths import DavPath
from .request import Dav, Handler, Services

HANDLERS: dict[str, Handler] = {
    "OPTIONS": options.handle,
    "PROPFIND": propfind.handle,
    "PROPPATCH": proppatch.handle,
    "MKCOL": mkcol.handle,
    "GET": get.handle,
    "HEAD": get.handle,
    "PUT": put.handle,
    "DELETE": delete.handle,
    "COPY": copymove.handle,
    "MOVE": copymove.handle,
    "LOCK": lock.handle_lock,
    "UNLOCK": lock.handle_unlock,
    "POST": tus.create,
    "REPORT": report.handle,
}
# Methods on /remote.php/dav/uploads/{user}/{id}: chunking NG and TUS sessions.
UPLOAD_HANDLERS: dict[str, Handler] = {
    "MKCOL": chunking.mkcol,
    "PUT": chunking.put_chunk,
    "PROPFIND": chunking.propfind,
    "MOVE": chunking.assemble,
    "DELETE": uploads.delete,
    "HEAD": tus.head,
    "PATCH": tus.patch,
    "OPTIONS": tus.options,
}
ROUTED: tuple[tuple[Callable[[str], DavPath | None], dict[str, Handler]], ...] = (
    (meta.parse, meta.HANDLERS),
    (uploads.parse, UPLOAD_HANDLERS),
    (trashbin.parse, trashbin.HANDLERS),
    (public.parse, public.HANDLERS),
)
UNAUTHENTICATED = DavError(401, "authentication required", headers={"WWW-Authenticate": 'Basic realm="ocisd"'})
log = get_logger("ocdav")


def make_app(services: Services, metrics: CollectorRegistry) -> web.Application:
    answered = Counter(
        "ocdav_requests", "WebDAV requests answered, by method and status.", ["method", "status"], registry=metrics
    )

    async def dispatch(request: web.Request) -> web.StreamResponse:
        resp = await _answer(request)
        method = request.method if request.method in HANDLERS or request.method in UPLOAD_HANDLERS else "other"
        answered.labels(method, str(resp.status)).inc()
        return resp

    async def _answer(request: web.Request) -> web.StreamResponse:
        head = request.method == "HEAD"
        if request.path in status.ROUTES:  # public: asked before logging in
            return await status.handle(request)
        if request.path.startswith(landing.ROUTES):  # public: the link's password form posts here
            return await request.app[landing.KEY].handle(request)
        try:
            # Folders with their own handlers: a file's versions by id, upload folders, the trash bin.
            target, table = next(
                ((t, handlers) for parse, handlers in ROUTED if (t := parse(request.raw_path)) is not None),
                (None, HANDLERS),
            )
            handler = table.get(request.method)
            if handler is None:
                raise DavError(501 if table is HANDLERS else 405, f"method {request.method} is not supported here")
            who = identity.CURRENT.get()
            if who is None:
                raise UNAUTHENTICATED
            legacy = legacy_chunking.parse(request) if target is None else None
            if legacy is not None:  # a v1 chunk: the request is about the file the chunks make up
                handler = legacy_chunking.put
            dav = Dav(request, services, who, target or (legacy.file if legacy else None))
            if target is None:  # upload folders take `If` as a condition on the assembled file
                await dav.check_if()
            return await handler(dav)
        except DavError as exc:
            if exc.status >= 500:
                log.warning("request failed", method=request.method, status=exc.status, error=exc.message)
            return exc.response(head=head)
        except ConnectionResetError:  # the client left mid-answer: nobody to tell, nothing to log
            return web.Response(status=499)

    # Big reads of PUT bodies: fewer, larger chunks streamed on to the data server.
    app = web.Application(client_max_size=services.config.max_xml_size, handler_args={"read_bufsize": 1 << 20})
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
