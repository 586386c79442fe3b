"""Images to upload and preview requests through the proxy, shared by the webdav tests."""

from __future__ import annotations

import io
import os

from PIL import Image

from tests.support.webdav_stack import DavStack, Reply

PREVIEWS = "thumbnails,webdav"  # what `?preview=1` needs besides the file stack


def image(fmt: str, width: int, height: int, noise: bool = False) -> bytes:
    """An image file; `noise` makes one that compresses badly (a large preview)."""
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), (200, 40, 90))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def preview(
    dav: DavStack, path: str, query: str = "", method: str = "GET", headers: dict[str, str] | None = None
) -> Reply:
    """`path` (relative to the user's files, or absolute) with `?preview=1` and `query`, as `dav`'s user."""
    return dav.request(method, f"{path}?preview=1{'&' if query else ''}{query}", headers=headers)


def size_of(reply: Reply) -> tuple[str, tuple[int, int]]:
    """(format, size) of a preview answer, checking its headers say what its body is."""
    assert reply.status == 200, (reply.status, reply.body[:300])
    img = Image.open(io.BytesIO(reply.body))
    assert reply.headers["Content-Type"] == Image.MIME[img.format or ""]
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    return img.format or "", img.size


def sabre(reply: Reply, status: int, exception: str) -> None:
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.headers["Content-Type"].startswith("application/xml")
    assert b'<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">' in reply.body
    assert f"<s:exception>Sabre\\DAV\\Exception\\{exception}</s:exception>".encode() in reply.body, reply.body
