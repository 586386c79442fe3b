"""WebDAV request paths, normalised once: which space, which path inside it, and the hrefs we answer with.

Shared by ocdav (every WebDAV method) and webdav (previews), so both turn a URL
into the same storage reference (`reference`). Names are kept byte-for-byte as the client
sent them (NFC and NFD names are different names); only percent-decoding, `.`
and `..` are resolved. A `..` that would leave the space, a NUL byte, invalid
UTF-8 or a name over 255 bytes is a 400 (`PathError`); a URL that names no
space is a 404.

`/remote.php/dav/spaces/<space-id>/<path>` names a space by id: the caller's
personal space by (space id, path); the shares jail (`SHARES_SPACE_ID`) as the
caller's `/Shares/<path>`; any other space by its root's node id
(`<id>!<id>`) and the path below it, so the storage decides by the caller's
grants (a project space's members hold them on its root).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from ocisd.api.sharing.v1.links import LEGACY, PUBLIC_FILES
from ocisd.api.sharing.v1.mounts import PATH as SHARES_PATH
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import SHARES_SPACE_ID, external_id

MAX_NAME_BYTES = 255
# Prefixes whose next segment names the user, and prefixes that mean "the caller's own space".
USER_PREFIXES = ("/remote.php/dav/files/", "/dav/files/")
OWN_PREFIXES = ("/remote.php/webdav", "/webdav")
# Prefixes whose next segment is a space id.
SPACES_PREFIXES = ("/remote.php/dav/spaces/", "/dav/spaces/")
ROUTES = ("/remote.php/webdav", "/remote.php/dav/files/", "/dav/files/", "/webdav", *SPACES_PREFIXES)
_SPACE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # what storage's space ids are made of (no `!`)


class PathError(Exception):
    """A request path we refuse: `status` is 400 (malformed) or 404 (names nothing we serve)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class DavPath:
    """`base` is the decoded href prefix of the space ("/remote.php/dav/files/alice"), `path` is "/" or "/a/b";
    `space` is the space id of a spaces URL ("" for the per-user and public paths)."""

    base: str
    user: str | None
    path: str
    space: str = ""


def reference(where: DavPath, home: str, path: str | None = None) -> pb.Reference:
    """The storage reference of `path` (default `where.path`) in the space of `where`; `home` is the
    caller's personal space id."""
    path = where.path if path is None else path
    if not where.space:
        return pb.Reference(path=path)
    if where.space == home:
        return pb.Reference(space_id=home, path=path)
    if where.space == SHARES_SPACE_ID:
        return pb.Reference(path=SHARES_PATH + (path if path != "/" else ""))
    return pb.Reference(node_id=external_id(where.space, where.space), path=path)


def in_space(space: str, path: str) -> str:
    """A path an answer carries (a search hit's, a lock root's) as a path of the URL space `space` (a
    DavPath's): the shares jail drops `/Shares`."""
    if space == SHARES_SPACE_ID and (path == SHARES_PATH or path.startswith(SHARES_PATH + "/")):
        return path[len(SHARES_PATH) :] or "/"
    return path


def join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name


def href(base: str, path: str, is_dir: bool) -> str:
    """The percent-encoded absolute href of `path`; folders end in `/`."""
    text = base + path
    if is_dir and not text.endswith("/"):
        text += "/"
    return quote(text, safe="/")


def decode(raw: str) -> str:
    """Percent-decode a raw URL path (no query) into text; invalid UTF-8 or NUL is a 400."""
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise PathError(400, "path is not valid UTF-8") from None
    if "\x00" in text:
        raise PathError(400, "path contains a NUL byte")
    return text


def normalise(rest: str) -> str:
    """Resolve `.` and `..` inside a space; leaving the space or an over-long name is a 400."""
    parts: list[str] = []
    for seg in rest.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise PathError(400, "path leaves the space")
            parts.pop()
            continue
        if len(seg.encode()) > MAX_NAME_BYTES:
            raise PathError(400, f"name longer than {MAX_NAME_BYTES} bytes")
        parts.append(seg)
    return "/" + "/".join(parts)


def _text(raw_target: str) -> str:
    return decode(raw_target.split("?", 1)[0].split("#", 1)[0])


def parse(raw_target: str) -> DavPath:
    """Split a raw request target into space base, user and normalised path; 404 for other URLs."""
    text = _text(raw_target)
    for prefix in USER_PREFIXES:
        found = _below(prefix, text, "no user in path")
        if found is not None:
            return found
    for prefix in SPACES_PREFIXES:
        found = _below(prefix, text, "no space id in path")
        if found is not None:
            if not _SPACE_ID.fullmatch(found.user or ""):
                raise PathError(404, "no such space")
            return DavPath(found.base, None, found.path, found.user or "")
    for prefix in OWN_PREFIXES:
        if text == prefix or text.startswith(prefix + "/"):
            return DavPath(prefix, None, normalise(text[len(prefix) :]))
    raise PathError(404, "not a WebDAV path")


def user_folder(prefix: str, raw_target: str) -> DavPath | None:
    """A raw request target `{prefix}{user}/{rest}` as the user's folder and the normalised path in it;
    None when the target is not below `prefix`."""
    return _below(prefix, decode(raw_target.split("?", 1)[0]), "no user in path")


def public(raw_target: str) -> DavPath | None:
    """The public path of a request (base `/remote.php/dav/public-files/<token>` or the legacy one), else None.

    Its `path` is relative to the link's resource: references are made by node id below it.
    """
    text = _text(raw_target)
    if text == LEGACY or text.startswith(LEGACY + "/"):
        return DavPath(LEGACY, None, normalise(text[len(LEGACY) :]))
    found = _below(PUBLIC_FILES, text, "no public link token in the path")
    return None if found is None else DavPath(found.base, None, found.path)


def _below(prefix: str, text: str, missing: str) -> DavPath | None:
    """`{prefix}{name}/{rest}` as (prefix + name, name, normalised rest); None when not below `prefix`."""
    if not text.startswith(prefix):
        return None
    name, _, rest = text[len(prefix) :].partition("/")
    if not name or name in (".", ".."):
        raise PathError(404, missing)
    return DavPath(prefix + name, name, normalise(rest))
