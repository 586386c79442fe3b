"""Public links over WebDAV: `/remote.php/dav/public-files/<token>/...` and the legacy `/public.php/webdav/...`.

The proxy has checked the link (token, password, expiry) and forwards an
internal token whose scope is the link's resource and permission bits. Every
storage reference is then made by node id below that resource
(Reference(node_id=resource, path=rest)), so no path, however spelled, can
leave the shared folder: `..` above the token root is a 400, and the storage
refuses what the bits do not allow. Hrefs are under the public base. A link
on a single file: the token root is the file. A file drop (create only) lists
nothing and reads nothing back; its PUTs get fresh names (drop.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ocisd.api.sharing.v1 import permissions
from ocisd.api.sharing.v1.links import LEGACY, PUBLIC_FILES
from ocisd.api.storage.v1 import storage_pb2 as pb

from . import copymove, delete, drop, get, mkcol, paths, propfind, put
from .errors import DavError
from .gateway import Gateway
from .paths import DavPath
from .request import Dav, Handler

ROUTES = (PUBLIC_FILES, LEGACY)
REFERENCES = ("ref", "source", "destination")
ALLOW = "OPTIONS, GET, HEAD, PROPFIND, PUT, MKCOL, DELETE, COPY, MOVE"
DROP_METHODS = ("PROPFIND", "PUT", "GET", "HEAD")  # GET and HEAD find nothing: the storage answers 404


parse = paths.public  # the public path of a request, else None


class ScopedGateway(Gateway):
    """The gateway with every path reference turned into one below the link's resource (and no quota)."""

    def __init__(self, inner: Gateway, resource: str) -> None:
        self._inner = inner
        self._resource = resource

    async def call(
        self, method: str, request: Any, overrides: dict[str, int] | None = None, timeout: float | None = None
    ) -> Any:
        if method == "GetQuota":  # the owner's quota is no visitor's business
            return pb.GetQuotaResponse(unlimited=True)
        fields = request.DESCRIPTOR.fields_by_name
        for name in REFERENCES:
            if name in fields and fields[name].message_type is pb.Reference.DESCRIPTOR:
                ref = getattr(request, name)
                if ref.space_id or ref.node_id:
                    raise DavError(400, "public links reach only their own resource")
                ref.node_id = self._resource
        return await self._inner.call(method, request, overrides, timeout)


class PublicDav(Dav):
    """A request on a public link: the scoped gateway, and Destinations below the same link."""

    def __init__(self, dav: Dav) -> None:
        scope = dav.who.scope
        if scope is None:
            raise DavError(404, "not a public link")
        services = dataclasses.replace(dav.services, gateway=ScopedGateway(dav.services.gateway, scope.resource))
        super().__init__(dav.request, services, dav.who, dav.target)
        self.bits: int = scope.bits

    @property
    def drop_only(self) -> bool:
        return self.bits & ~permissions.SHARE == permissions.CREATE

    def destination(self, other_space: int) -> DavPath:
        url = urlsplit(self.request.headers.get("Destination", ""))
        if not url.path:
            raise DavError(400, "Destination header missing")
        hosts = {self.request.host, self.request.headers.get("X-Forwarded-Host", "")} - {""}
        if url.netloc and url.netloc.lower() not in {h.lower() for h in hosts}:
            raise DavError(502, "Destination is on another server")
        found = self.resolve(url.path)
        if found is None:
            raise DavError(other_space, "Destination is outside this public link")
        return found

    def resolve(self, url: str) -> DavPath | None:
        """A URL or path below this same link, or None."""
        found = parse(urlsplit(url).path)
        return found if found is not None and found.base == self.target.base else None


def scoped(handler: Handler) -> Handler:
    async def run(dav: Dav) -> web.StreamResponse:
        public = PublicDav(dav)
        if public.drop_only and dav.request.method not in DROP_METHODS:
            raise DavError(403, "a file drop takes uploads only")
        await public.check_if()
        return await handler(public)

    return run


async def _propfind(dav: Dav) -> web.StreamResponse:
    assert isinstance(dav, PublicDav)
    if dav.drop_only:  # the drop itself, never what is inside
        if dav.path != "/":
            raise DavError(404, "nothing to see in a file drop")
        dav.request = dav.request.clone(headers={**dav.request.headers, "Depth": "0"})
    return await propfind.handle(dav)


async def options(dav: Dav) -> web.StreamResponse:
    return web.Response(status=200, headers={"DAV": "1", "Allow": ALLOW, "Accept-Ranges": "bytes"})


async def _put(dav: Dav) -> web.StreamResponse:
    assert isinstance(dav, PublicDav)
    return await (drop.handle(dav) if dav.drop_only else put.handle(dav))


HANDLERS: dict[str, Handler] = {
    "OPTIONS": options,
    "PROPFIND": scoped(_propfind),
    "GET": scoped(get.handle),
    "HEAD": scoped(get.handle),
    "PUT": scoped(_put),
    "MKCOL": scoped(mkcol.handle),
    "DELETE": scoped(delete.handle),
    "COPY": scoped(copymove.handle),
    "MOVE": scoped(copymove.handle),
}
