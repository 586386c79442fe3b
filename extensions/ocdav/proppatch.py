"""PROPPATCH: set and remove dead properties (any namespace), all or nothing; 207."""

from __future__ import annotations

from aiohttp import web

from ocisd.api.storage.v1 import storage_pb2 as pb

from . import props, xml
from .paths import href
from .request import Dav


async def handle(dav: Dav) -> web.StreamResponse:
    updates = xml.parse_proppatch(await dav.xml_body())
    info = await dav.gw.stat(dav.ref())
    protected = [u.name for u in updates if u.name in props.PROTECTED]
    link = href(dav.target.base, dav.path, info.type == pb.RESOURCE_TYPE_CONTAINER)
    if protected:
        others = [xml.element(u.name) for u in updates if u.name not in props.PROTECTED]
        stats = [xml.propstat(403, [xml.element(n) for n in protected])]
        if others:
            stats.append(xml.propstat(424, others))
        body = xml.multistatus([xml.response(link, stats)])
        return web.Response(status=207, body=body, headers={"Content-Type": xml.CONTENT_TYPE})
    sets: dict[str, str] = {}
    removes: set[str] = set()
    for u in updates:  # later instructions win (set-then-remove removes; remove-then-set sets)
        if u.value is None:
            sets.pop(u.name, None)
            removes.add(u.name)
        else:
            removes.discard(u.name)
            # oc:favorite is kept as "1"/"0" text so other extensions can read it.
            sets[u.name] = ("1" if u.text == "1" else "0") if u.name in props.SETTABLE_LIVE else u.value
    tokens = dav.lock_tokens()
    if sets:
        request = pb.SetArbitraryMetadataRequest(ref=dav.ref(), metadata=sets, lock_tokens=tokens)
        await dav.gw.call("SetArbitraryMetadata", request)
    if removes:
        unset = pb.UnsetArbitraryMetadataRequest(ref=dav.ref(), keys=sorted(removes), lock_tokens=tokens)
        await dav.gw.call("UnsetArbitraryMetadata", unset)
    seen: dict[str, None] = dict.fromkeys(u.name for u in updates)
    body = xml.multistatus([xml.response(link, [xml.propstat(200, [xml.element(n) for n in seen])])])
    return web.Response(status=207, body=body, headers={"Content-Type": xml.CONTENT_TYPE})
