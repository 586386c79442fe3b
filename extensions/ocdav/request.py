"""One WebDAV request: its normalised path, the caller, the `If` header, and helpers every method uses."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.identity import Identity

from . import ifheader, paths
from . import xml as davxml
from .config import OcdavConfig
from .errors import DavError
from .gateway import Gateway
from .paths import DavPath
from .props import View
from .sharing import Sharing
from .transfer import DataServers


@dataclass
class Services:
    """What every handler shares: the gateway client, the data servers (HTTP session, local apps), config."""

    gateway: Gateway
    http: aiohttp.ClientSession
    data: DataServers
    config: OcdavConfig
    sharing: Sharing


class Dav:
    def __init__(self, request: web.Request, services: Services, who: Identity, target: DavPath | None = None) -> None:
        self.request = request
        self.services = services
        self.gw = services.gateway
        self.config = services.config
        self.who = who
        self.target: DavPath = target if target is not None else paths.parse(request.raw_path)
        if self.target.user is not None and self.target.user not in (who.username, who.user_id):
            raise DavError(404, "no such user space")
        if self.target.space and who.scope is not None:  # a public link's token reaches its resource only
            raise DavError(404, "public links reach no space by id")
        self.home = home_space_id(who.user_id)
        header = request.headers.get("If", "")
        self.if_lists = ifheader.parse(header) if header else []

    @property
    def path(self) -> str:
        return self.target.path

    def ref(self, path: str | None = None) -> pb.Reference:
        """The storage reference of `path` (default: the request's) in the request's space."""
        return paths.reference(self.target, self.home, path)

    def ref_of(self, where: DavPath) -> pb.Reference:
        """The storage reference of another URL's resource (a Destination, an `If` header's URL)."""
        return paths.reference(where, self.home)

    def lock_tokens(self) -> list[str]:
        return sorted(ifheader.tokens(self.if_lists))

    def view(self, quota_available: int | None = None) -> View:
        name = self.who.display_name or self.who.username
        return View(self.target.base, name, quota_available, self.services.sharing.private_links, self.target.space)

    def depth(self, default: str, allowed: tuple[str, ...]) -> str:
        value = self.request.headers.get("Depth", default).strip().lower()
        if value not in allowed:
            raise DavError(400, f"Depth must be one of {', '.join(allowed)}")
        return value

    def mtime_ns(self) -> int:
        """`X-OC-Mtime` (unix seconds, maybe fractional) in nanoseconds; 0 when absent."""
        value = self.request.headers.get("X-OC-Mtime", "")
        if not value:
            return 0
        try:
            seconds = float(value)
        except ValueError:
            raise DavError(400, "X-OC-Mtime must be a unix timestamp") from None
        if not 0 < seconds < 2**33:
            raise DavError(400, "X-OC-Mtime out of range")
        return int(seconds * 1_000_000_000)

    async def xml_body(self) -> ET.Element | None:
        limit = self.config.max_xml_size
        if (self.request.content_length or 0) > limit:
            raise DavError(413, f"XML body larger than {limit} bytes")
        try:
            body = await self.request.read()
        except web.HTTPRequestEntityTooLarge:
            raise DavError(413, f"XML body larger than {limit} bytes") from None
        return davxml.parse(body, limit)

    def destination(self, other_space: int) -> DavPath:
        """The `Destination` header: a path of the caller's own (`files/<them>`, `webdav`) or a spaces URL
        (the storage judges it); another user's `files/` is `other_space`."""
        # Behind the proxy, the Host the client used arrives as X-Forwarded-Host.
        hosts = {self.request.host, self.request.headers.get("X-Forwarded-Host", "")} - {""}
        dest = paths.parse_destination(self.request.headers.get("Destination", ""), hosts)
        if dest.user is not None and dest.user not in (self.who.username, self.who.user_id):
            raise DavError(other_space, "Destination is in another space")
        return dest

    def resolve(self, url: str) -> DavPath | None:
        """A URL or path naming a resource in the same space, or None when it names something else."""
        try:
            parsed = paths.parse(urlsplit(url).path)
        except DavError:
            return None
        return parsed if parsed.base == self.target.base else None

    async def check_if(self) -> None:
        """412 unless some list of the `If` header holds (RFC 4918 §10.4)."""
        if not self.if_lists:
            return
        states: dict[str | None, ifheader.State] = {}
        for url in ifheader.resources(self.if_lists):
            where = self.target if url is None else self.resolve(url)
            info = await self.gw.try_stat(self.ref_of(where)) if where is not None else None
            if info is None:
                states[url] = ifheader.State(None, frozenset())
            else:
                states[url] = ifheader.State(f'"{info.etag}"', frozenset(lk.token for lk in info.locks))
        if not ifheader.evaluate(self.if_lists, states):
            raise DavError(412, "If header conditions failed")


# What answers one method on one kind of folder.
Handler = Callable[[Dav], Awaitable[web.StreamResponse]]
