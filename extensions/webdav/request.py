"""A preview request read once: the file it names (as a storage reference) and the size and options asked.

Paths are ocdav's (`ocisd.davpaths`), so a preview names exactly the file a GET
of the same URL would: `files/<user>/…` only for the caller themselves,
`webdav/…` in the caller's home, `spaces/<id>/…` as ocdav maps it, `public-files/<token>/…` by node id below the
link's resource (the proxy checked the link and forwards its scoped token).
"""

from __future__ import annotations

from multidict import MultiMapping

from ocisd import davpaths
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.identity import Identity

from .errors import PreviewError

DEFAULT_SIZE = 32  # oCIS's webdav service: x and y default to 32
INT32_MAX = 2**31 - 1
TRUE = ("1", "true", "yes")
FALSE = ("0", "false", "no")


def reference(raw_target: str, who: Identity) -> pb.Reference:
    """The storage reference of the file a preview URL names, as the caller may reach it."""
    try:
        public = davpaths.public(raw_target)
        if public is not None:
            if who.scope is None:
                raise PreviewError(404, "not a public link")
            return pb.Reference(node_id=who.scope.resource, path=public.path)
        where = davpaths.parse(raw_target)
    except davpaths.PathError as exc:
        raise PreviewError(exc.status, exc.message) from None
    if who.scope is not None:  # a link's token reaches its resource only
        raise PreviewError(404, "public links reach only their own resource")
    if where.user is not None and where.user not in (who.username, who.user_id):
        raise PreviewError(404, "no such user space")
    return davpaths.reference(where, home_space_id(who.user_id))


def _size(query: MultiMapping[str], key: str) -> int:
    value = query.get(key, "").strip()
    if not value:
        return DEFAULT_SIZE
    try:
        size = int(value, 10)
    except ValueError:
        raise PreviewError(400, f"{key} must be a whole number of pixels") from None
    if not 1 <= size <= INT32_MAX:
        raise PreviewError(400, f"{key} must be between 1 and {INT32_MAX}")
    return size


def _flag(query: MultiMapping[str], key: str, default: bool) -> bool:
    value = query.get(key, "").strip().lower()
    if not value:
        return default
    if value not in TRUE + FALSE:
        raise PreviewError(400, f"{key} must be 1 or 0")
    return value in TRUE


def etags(header: str) -> list[str]:
    """The entity tags of an `If-None-Match` header, unquoted (a weak tag compares by its value)."""
    return [t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()]


def thumbnail_request(
    raw_target: str, query: MultiMapping[str], who: Identity, if_none_match: str
) -> tpb.GetThumbnailRequest:
    """GetThumbnail's request for a `?preview=1&x=&y=&a=&processor=` URL (`c` only busts caches)."""
    tags = etags(if_none_match)
    return tpb.GetThumbnailRequest(
        ref=reference(raw_target, who),
        width=_size(query, "x"),
        height=_size(query, "y"),
        preserve_aspect=_flag(query, "a", True),
        processor=query.get("processor", ""),
        if_none_match=tags[0] if len(tags) == 1 and tags[0] != "*" else "",
    )
