"""PROPFIND: properties of a resource (Depth 0) and its children (Depth 1), streamed page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import props, xml
from .errors import DavError
from .paths import join
from .request import Dav
from .resource import from_info

FINITE_DEPTH = "<d:propfind-finite-depth/>"


async def _pages(dav: Dav, path: str) -> AsyncIterator[pb.ListContainerResponse]:
    token = ""
    while True:
        request = pb.ListContainerRequest(ref=dav.ref(path), page_size=dav.config.list_page_size, page_token=token)
        page = await dav.gw.call("ListContainer", request)
        yield page
        token = page.next_page_token
        if not token:
            return


async def _quota(dav: Dav) -> int:
    reply = await dav.gw.call("GetQuota", pb.GetQuotaRequest(ref=dav.ref("/")))
    return props.QUOTA_UNLIMITED if reply.unlimited else max(reply.remaining, 0)


async def annotate(dav: Dav, renderer: props.Renderer, infos: list[pb.ResourceInfo]) -> None:
    """What the sharing properties of these resources need, when they are asked for: one call each.

    Added to what earlier pages found (only shared items and other owners: small), since with
    Depth infinity a folder's siblings are rendered after its children."""
    view = renderer.view
    if renderer.asks(props.SHARE_TYPES) and dav.who.scope is None:  # a public link shares nothing itself
        view.share_types.update(await dav.services.sharing.share_types([i.id for i in infos if i.id]))
    if renderer.asks(props.OWNER_DISPLAY_NAME):
        others = {i.owner_id for i in infos if i.owner_id and i.owner_id != dav.who.user_id} - set(view.owner_names)
        view.owner_names.update(await dav.services.sharing.display_names(others) if others else {})


async def _below(
    dav: Dav, path: str, infos: list[pb.ResourceInfo], renderer: props.Renderer, infinite: bool
) -> AsyncIterator[str]:
    """Responses for the children `infos` of `path`, and with `infinite` everything below them."""
    for info in infos:
        child = from_info(info, join(path, info.name))
        yield renderer.render(child)
        if infinite and child.is_dir:
            async for page in _pages(dav, child.path):
                await annotate(dav, renderer, list(page.infos))
                async for part in _below(dav, child.path, list(page.infos), renderer, infinite):
                    yield part


async def handle(dav: Dav) -> web.StreamResponse:
    # A missing Depth means 1, as in oCIS: clients that omit it expect a listing, not the whole tree.
    depth = dav.depth("1", ("0", "1", "infinity"))
    if depth == "infinity" and not dav.config.propfind_infinity:
        raise DavError(403, "PROPFIND with Depth: infinity is not allowed", FINITE_DEPTH)
    req = xml.parse_propfind(await dav.xml_body())
    pages = _pages(dav, dav.path) if depth != "0" else None
    page: pb.ListContainerResponse | None = None
    if pages is not None:
        try:
            page = await anext(pages)
        except DavError as exc:  # a file: 409 not-a-container
            if exc.status != 409:
                raise
            pages = None
    first_info = page.info if page is not None else await dav.gw.stat(dav.ref())
    first = from_info(first_info, dav.path)
    renderer = props.Renderer(req, dav.view(await _quota(dav) if props.wants_quota(req) else None))
    await annotate(dav, renderer, [first_info, *(page.infos if page is not None else ())])
    resp = web.StreamResponse(status=207, headers={"Content-Type": xml.CONTENT_TYPE})
    resp.enable_chunked_encoding()
    await resp.prepare(dav.request)
    await resp.write(f"{xml.HEAD}<d:multistatus {xml.XMLNS}>{renderer.render(first)}".encode())
    infinite = depth == "infinity"
    while page is not None and pages is not None:
        parts = [p async for p in _below(dav, dav.path, list(page.infos), renderer, infinite)]
        await resp.write("".join(parts).encode())
        page = await anext(pages, None)
        if page is not None:
            await annotate(dav, renderer, list(page.infos))
    await resp.write(b"</d:multistatus>")
    await resp.write_eof()
    return resp
