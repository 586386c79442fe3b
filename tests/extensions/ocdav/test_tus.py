"""TUS 1.0.0 uploads into the WebDAV tree: creation, creation-with-upload, HEAD, PATCH, termination, resume."""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import xml.etree.ElementTree as ET
from base64 import b64encode
from urllib.parse import urlsplit

from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until

DATA = os.urandom(3 * 1024 * 1024 + 17)
SHA1 = hashlib.sha1(DATA).hexdigest()
BIG = os.urandom(8 * 1024 * 1024 + 17)  # the storage writes 1 MiB blocks: each interrupted part spans some
OFFSET = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(
    dav: webdav_stack.DavStack, name: str, body: bytes | None = None, data: bytes = DATA, **meta: str
) -> webdav_stack.Reply:
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(filename=name, checksum=f"SHA1 {hashlib.sha1(data).hexdigest()}", **meta),
        "X-OC-Mtime": "1700000000",
    }
    if body is not None:
        headers["Content-Type"] = OFFSET["Content-Type"]
    return dav.request("POST", "", body, headers)


def location(dav: webdav_stack.DavStack, reply: webdav_stack.Reply) -> str:
    """The session's path; the Location is an absolute URL of the server the client talks to."""
    assert reply.status == 201, reply
    url = urlsplit(reply.headers["Location"])
    assert f"{url.scheme}://{url.netloc}" == dav.root and url.path.startswith("/remote.php/dav/uploads/admin/")
    return url.path


def patch(dav: webdav_stack.DavStack, where: str, offset: int, body: bytes) -> webdav_stack.Reply:
    return dav.request("PATCH", where, body, {**OFFSET, "Upload-Offset": str(offset)})


def offset_of(dav: webdav_stack.DavStack, where: str, data: bytes = DATA) -> int:
    head = dav.request("HEAD", where, headers={"Tus-Resumable": "1.0.0"})
    assert head.status == 200 and head.headers["Upload-Length"] == str(len(data)), head
    assert head.headers["Tus-Resumable"] == "1.0.0" and head.headers["Cache-Control"] == "no-store"
    return int(head.headers["Upload-Offset"])


def names(dav: webdav_stack.DavStack, path: str = "") -> list[str]:
    listing = ET.fromstring(dav.request("PROPFIND", path, b"", {"Depth": "1"}).body)
    return [h.text or "" for h in listing.iter("{DAV:}href")]


def assert_final(dav: webdav_stack.DavStack, reply: webdav_stack.Reply, path: str, data: bytes = DATA) -> None:
    assert reply.headers["ETag"] == reply.headers["OC-ETag"] and reply.headers["OC-Perm"] == "RDNVW"
    got = dav.request("GET", path)
    assert hashlib.sha1(got.body).hexdigest() == hashlib.sha1(data).hexdigest()
    assert got.headers["ETag"] == reply.headers["ETag"] and got.headers["OC-FileId"] == reply.headers["OC-FileId"]


def test_tus_protocol(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    opts = dav.request("OPTIONS", "")
    assert opts.headers["Tus-Resumable"] == "1.0.0" and opts.headers["Tus-Version"] == "1.0.0"
    assert opts.headers["Tus-Extension"] == "creation,creation-with-upload,termination"
    assert int(opts.headers["Tus-Max-Size"]) > 0

    # Creation, then PATCHes; the file appears only with the last byte.
    assert dav.request("MKCOL", "dir").status == 201
    where = location(dav, create(dav, "dir/a file.bin"))
    assert offset_of(dav, where) == 0
    assert dav.request("PATCH", where, b"x", {"Tus-Resumable": "1.0.0", "Upload-Offset": "0"}).status == 415
    assert patch(dav, where, 5, DATA[:10]).status == 409
    first = patch(dav, where, 0, DATA[:1_000_000])
    assert first.status == 204 and first.headers["Upload-Offset"] == "1000000" and "ETag" not in first.headers
    assert offset_of(dav, where) == 1_000_000 and names(dav, "dir") == [f"{dav.base}/dir/"]
    last = patch(dav, where, 1_000_000, DATA[1_000_000:])
    assert last.status == 204 and last.headers["Upload-Offset"] == str(len(DATA)), last
    assert last.headers["X-OC-MTime"] == "accepted"
    assert_final(dav, last, "dir/a%20file.bin")
    props = ET.fromstring(dav.request("PROPFIND", "dir/a%20file.bin", b"", {"Depth": "0"}).body)
    assert f'"{props.findtext(".//{DAV:}getetag", "").strip(chr(34))}"' == last.headers["ETag"]
    assert props.findtext(".//{DAV:}getlastmodified") == "Tue, 14 Nov 2023 22:13:20 GMT"

    # creation-with-upload of the whole file, named by `dir` + `filename`: one request.
    whole = create(dav, "b.bin", DATA, dir="/dir")
    assert whole.status == 201 and whole.headers["Upload-Offset"] == str(len(DATA))
    assert_final(dav, whole, "dir/b.bin")

    # A wrong checksum: the last PATCH fails and nothing is committed.
    bad = dav.request(
        "POST",
        "",
        None,
        {"Tus-Resumable": "1.0.0", "Upload-Length": "3", "Upload-Metadata": metadata(filename="c", checksum="SHA1 00")},
    )
    assert patch(dav, location(dav, bad), 0, b"abc").status == 400
    assert dav.request("PROPFIND", "c", b"", {"Depth": "0"}).status == 404

    # Termination.
    gone = location(dav, create(dav, "d.bin"))
    assert patch(dav, gone, 0, DATA[:100]).status == 204
    assert dav.request("DELETE", gone, headers={"Tus-Resumable": "1.0.0"}).status == 204
    assert dav.request("HEAD", gone).status == 404 and patch(dav, gone, 100, b"x").status == 404
    # POST without Tus-Resumable is not an upload.
    assert dav.request("POST", "", b"x").status == 405


def _part_patch(dav: webdav_stack.DavStack, where: str, offset: int, body: bytes, part: float) -> socket.socket:
    """A PATCH whose body stops after `part` of it; the caller kills a process while it hangs."""
    url = urlsplit(dav.root)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    head = f"PATCH {where} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in {**dav.auth, **OFFSET, "Upload-Offset": str(offset)}.items())
    sock.sendall(head.encode() + b"\r\n" + body[: int(len(body) * part)])
    return sock


def _on_disk(dep: Deployment) -> int:
    """Size of the biggest upload-session data file in the storage's data dir."""
    return max((p.stat().st_size for p in dep.data_dir.rglob("uploads/*/data")), default=0)


def _grew(dep: Deployment, before: int) -> bool:
    return _on_disk(dep) > before


def test_tus_resumes_after_sigkill(dep: Deployment) -> None:
    _, storage, ocdav = dep.start_split("bus,gateway", "storage-users", "ocdav")
    procs = {"storage-users": storage, "ocdav": ocdav}
    dav = webdav_stack.connect(dep, proxied=False)
    where = location(dav, create(dav, "resumed.bin", data=BIG))
    offset = 0
    for victim, part in (("storage-users", 0.25), ("ocdav", 0.5)):
        before = _on_disk(dep)  # may hold unanswered bytes of the killed PATCH, cut off at the next one
        with _part_patch(dav, where, offset, BIG[offset:], part):
            # Kill once bytes of this PATCH reached the session's file on disk (not yet durable).
            wait_until(functools.partial(_grew, dep, before), 30, what="bytes at the storage")
            assert procs[victim].alive()
            procs[victim].kill()
        procs[victim] = dep.start_extension(victim)
        dav = webdav_stack.connect(dep, proxied=False)
        resumed = offset_of(dav, where, BIG)  # what was durably kept: never more than was sent
        assert offset <= resumed <= offset + int((len(BIG) - offset) * part)
        if victim == "ocdav":  # storage lived: it recorded what arrived before the connection dropped
            assert resumed > offset
        offset = resumed
        assert names(dav) == [f"{dav.base}/"]  # no partial file, ever
    last = patch(dav, where, offset, BIG[offset:])
    assert last.status == 204, last
    assert_final(dav, last, "resumed.bin", BIG)
