"""File drop PUT: an upload never replaces anything; a taken name becomes `name (2).ext`, `name (3).ext`, ...

The storage answers a create-only caller's upload onto an existing name with
ALREADY_EXISTS before any byte is read, so the next name is tried with the
body still unread.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from . import put
from .errors import DavError
from .paths import join
from .request import Dav

MAX_TRIES = 100
TAKEN = (405, 412)  # ALREADY_EXISTS, or the If-None-Match precondition of a client that sent one


def candidates(name: str, count: int) -> list[str]:
    """`name`, then `stem (2).ext`, `stem (3).ext`, ...; a leading dot is part of the stem."""
    stem, dot, ext = name.rpartition(".")
    if not stem or not dot:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    return [name] + [f"{stem} ({n}){suffix}" for n in range(2, count + 1)]


async def handle(dav: Dav) -> web.StreamResponse:
    parent, _, name = dav.path.rpartition("/")
    if not name:
        raise DavError(409, "PUT needs a file name")
    target = dav.target
    for candidate in candidates(name, MAX_TRIES):
        dav.target = replace(target, path=join(parent or "/", candidate))
        try:
            return await put.handle(dav)
        except DavError as exc:
            if exc.status not in TAKEN:
                raise
    raise DavError(409, f"no free name for {name} after {MAX_TRIES} tries")
