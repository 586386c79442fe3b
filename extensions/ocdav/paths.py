"""Request paths, normalised once: which space, which path inside it, and the hrefs we answer with.

Names are kept byte-for-byte as the client sent them (NFC and NFD names are
different names); only percent-decoding, `.` and `..` are resolved. A `..`
that would leave the space, a NUL byte, invalid UTF-8 or a name over 255
bytes is a 400.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes, urlsplit

from .errors import DavError

MAX_NAME_BYTES = 255
# Prefixes whose next segment names the user, and prefixes that mean "the caller's own space".
USER_PREFIXES = ("/remote.php/dav/files/", "/dav/files/")
OWN_PREFIXES = ("/remote.php/webdav", "/webdav")
ROUTES = ("/remote.php/webdav", "/remote.php/dav/files/", "/dav/files/", "/webdav")


@dataclass(frozen=True)
class DavPath:
    """`base` is the decoded href prefix of the space ("/remote.php/dav/files/alice"), `path` is "/" or "/a/b"."""

    base: str
    user: str | None
    path: str


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
        raise DavError(400, "path is not valid UTF-8") from None
    if "\x00" in text:
        raise DavError(400, "path contains a NUL byte")
    return text


def normalise(rest: str) -> str:
    """Resolve `.` and `..` inside a space; leaving the space or an over-long name is a 400."""
    parts: list[str] = []
    for seg in rest.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise DavError(400, "path leaves the space")
            parts.pop()
            continue
        if len(seg.encode()) > MAX_NAME_BYTES:
            raise DavError(400, f"name longer than {MAX_NAME_BYTES} bytes")
        parts.append(seg)
    return "/" + "/".join(parts)


def parse(raw_target: str) -> DavPath:
    """Split a raw request target into space base, user and normalised path; 404 for other URLs."""
    text = decode(raw_target.split("?", 1)[0].split("#", 1)[0])
    for prefix in USER_PREFIXES:
        if text.startswith(prefix):
            user, _, rest = text[len(prefix) :].partition("/")
            if not user or user in (".", ".."):
                raise DavError(404, "no user in path")
            return DavPath(prefix + user, user, normalise(rest))
    for prefix in OWN_PREFIXES:
        if text == prefix or text.startswith(prefix + "/"):
            return DavPath(prefix, None, normalise(text[len(prefix) :]))
    raise DavError(404, "not a WebDAV path")


def user_folder(prefix: str, raw_target: str) -> DavPath | None:
    """A raw request target `{prefix}{user}/{rest}` as the user's folder and the normalised path in it;
    None when the target is not below `prefix`."""
    text = decode(raw_target.split("?", 1)[0])
    if not text.startswith(prefix):
        return None
    user, _, rest = text[len(prefix) :].partition("/")
    if not user or user in (".", ".."):
        raise DavError(404, "no user in path")
    return DavPath(prefix + user, user, normalise(rest))


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
