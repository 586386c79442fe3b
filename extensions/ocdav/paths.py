"""Request paths for ocdav: the core's `ocisd.davpaths` with its refusals as DavErrors, and `Destination`."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from ocisd import davpaths
from ocisd.davpaths import MAX_NAME_BYTES, OWN_PREFIXES, ROUTES, USER_PREFIXES, DavPath, href, in_space, join, reference

from .errors import DavError

__all__ = [
    "MAX_NAME_BYTES",
    "OWN_PREFIXES",
    "ROUTES",
    "USER_PREFIXES",
    "DavPath",
    "href",
    "in_space",
    "join",
    "reference",
]
P = ParamSpec("P")
R = TypeVar("R")


def _as_dav(fn: Callable[P, R]) -> Callable[P, R]:
    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except davpaths.PathError as exc:
            raise DavError(exc.status, exc.message) from None

    return run


decode = _as_dav(davpaths.decode)
normalise = _as_dav(davpaths.normalise)
parse = _as_dav(davpaths.parse)
user_folder = _as_dav(davpaths.user_folder)
public = _as_dav(davpaths.public)


def parse_destination(header: str, hosts: Collection[str]) -> DavPath:
    """A `Destination` (full URL or absolute path) on this server (one of `hosts`); another server is a 502."""
    if not header:
        raise DavError(400, "Destination header missing")
    url = urlsplit(header)
    if url.scheme or url.netloc:
        if url.netloc.lower() not in {h.lower() for h in hosts}:
            raise DavError(502, "Destination is on another server")
    elif not url.path.startswith("/"):
        raise DavError(400, "Destination must be an absolute URL or path")
    try:
        return parse(url.path)
    except DavError as exc:
        if exc.status == 404:
            raise DavError(502, "Destination is not on this WebDAV server") from None
        raise
