"""`/s/<token>`: a plain HTML landing page for a public link (name, size, a download button;
a folder's first entries, each file with its own button).

A link with a password shows a form that posts the password to the same path
(never in a URL, no cookie); the page then asks storage-publiclink itself,
with the client address the proxy put in `X-Ocisd-Client-Ip`, so a wrong
password here is throttled as on WebDAV. The download button posts again
(with the password, when there is one) and the file's bytes come back.
Unknown, expired and removed links all get the same 404 page.
"""

from __future__ import annotations

import html

import grpc
import grpc.aio
from aiohttp import web

from ocisd import client_address, identity
from ocisd.api.sharing.v1 import permissions, sharing_pb2, sharing_pb2_grpc
from ocisd.api.sharing.v1.links import LANDING
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.authz import acting_as
from ocisd.rpc.client import RpcClients

from .errors import DavError
from .request import Services

ROUTES = (LANDING,)
MAX_FORM = 4096
MAX_LISTED = 200  # entries a folder's page shows
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
STYLE = "body{font-family:sans-serif;max-width:40em;margin:3em auto}button,input{font-size:1em}"


def _page(title: str, body: str, status: int = 200, extra: dict[str, str] | None = None) -> web.Response:
    text = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
    return web.Response(status=status, text=text, content_type="text/html", headers={**HEADERS, **(extra or {})})


def _password_form(wrong: bool) -> str:
    note = "<p><strong>Wrong password.</strong></p>" if wrong else ""
    return (
        f"<h1>This link is protected</h1>{note}"
        '<form method="post"><label>Password <input type="password" name="password" autofocus required>'
        '</label> <button type="submit">Open</button></form>'
    )


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit} ({n} bytes)"


def _download(password: str, entry: str = "", label: str = "Download") -> str:
    """A button posting back for the bytes (of `entry` inside a folder link); the password rides in the body."""
    fields = {"action": "download", "password": password, "entry": entry}
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items() if v)
    return f'<form method="post">{hidden}<button type="submit">{html.escape(label)}</button></form>'


def _details(info: pb.ResourceInfo, bits: int, password: str, children: list[pb.ResourceInfo]) -> str:
    name = html.escape(info.name or "shared")
    if not bits & permissions.READ:  # a file drop: what is inside, even its size, stays hidden
        return f"<h1>{name}/</h1><p>A file drop: upload files into it with a WebDAV client.</p>"
    size = f"<p>Size: {_size(info.size)}</p>"
    if info.type != pb.RESOURCE_TYPE_CONTAINER:
        return f"<h1>{name}</h1>{size}{_download(password)}"
    rows = "".join(
        f"<li>{html.escape(c.name)}/</li>"
        if c.type == pb.RESOURCE_TYPE_CONTAINER
        else f"<li>{_download(password, c.name, c.name)} {_size(c.size)}</li>"
        for c in children
    )
    more = "<p>Open the folder with a WebDAV client to see everything.</p>" if len(children) >= MAX_LISTED else ""
    return f"<h1>{name}/</h1>{size}<ul>{rows}</ul>{more}"


class Landing:
    def __init__(self, rpc: RpcClients, secret: str, services: Services) -> None:
        self._links = rpc.stub("storage-publiclink", sharing_pb2_grpc.PublicLinksStub)
        self._service = identity.ServiceToken(secret, "ocdav")
        self._services = services
        self._addresses = client_address.Reader(secret)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token, _, rest = request.path[len(LANDING) :].partition("/")
        if not token or rest or request.method not in ("GET", "HEAD", "POST"):
            return _page("Not found", "<h1>No such link</h1>", 404)
        password, action, entry, as_get = "", "", "", request
        if request.method == "POST":
            if (request.content_length or 0) > MAX_FORM:
                return _page("Too large", "<h1>Form too large</h1>", 413)
            as_get = request.clone(method="GET")  # the download's answer; a read request cannot be cloned
            form = await request.post()
            password, action, entry = (str(form.get(k, "")) for k in ("password", "action", "entry"))
            if "/" in entry or entry in (".", ".."):  # one name inside the link's folder, nothing else
                return _page("Not found", "<h1>No such file</h1>", 404)
        try:
            with acting_as(self._service.get()):
                ip = self._addresses.of(request)
                ask = sharing_pb2.AuthenticateLinkRequest(token=token, password=password, client_ip=ip)
                link: sharing_pb2.AuthenticateLinkResponse = await self._links.Authenticate(ask)
        except grpc.aio.AioRpcError as exc:
            return self._refused(exc, bool(password))
        ref = pb.Reference(node_id=link.share.resource_id)
        bits = link.share.permissions
        try:
            with acting_as(link.access_token):
                gateway = self._services.gateway
                if action == "download":
                    ref.path = "/" + entry
                    init = await gateway.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=ref))
                    return await self._services.data.download(as_get, init.download_url)
                info = (await gateway.call("Stat", pb.StatRequest(ref=ref))).info
                children: list[pb.ResourceInfo] = []
                if info.type == pb.RESOURCE_TYPE_CONTAINER and bits & permissions.READ:
                    listed = await gateway.call("ListContainer", pb.ListContainerRequest(ref=ref, page_size=MAX_LISTED))
                    children = list(listed.infos)
        except DavError as exc:
            return _page("Unavailable", f"<h1>{html.escape(exc.message)}</h1>", exc.status)
        return _page(info.name or "Shared", _details(info, bits, password, children))

    @staticmethod
    def _refused(exc: grpc.aio.AioRpcError, tried: bool) -> web.Response:
        code = exc.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return _page("Password required", _password_form(tried), 403 if tried else 200)
        if code == grpc.StatusCode.NOT_FOUND:
            return _page("Not found", "<h1>No such link</h1><p>It may have expired or been removed.</p>", 404)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            retry = next((str(v) for k, v in exc.trailing_metadata() or () if k == "retry-after"), "60")
            return _page("Too many attempts", "<h1>Too many attempts</h1>", 429, {"Retry-After": retry})
        return _page("Unavailable", "<h1>Public links are unavailable</h1>", 503, {"Retry-After": "5"})


KEY = web.AppKey("landing", Landing)
