"""Chunking NG (ownCloud desktop protocol): upload folders in storage, resumable across SIGKILLs."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import xml.etree.ElementTree as ET
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from tests.support import webdav_stack
from tests.support.harness import Deployment, http_get
from tests.support.identity import add_user

CHUNK = 256 * 1024
DATA = os.urandom(4 * CHUNK + 1000)
SHA1 = hashlib.sha1(DATA).hexdigest()
UPLOADS = "/remote.php/dav/uploads/admin"


def chunk_name(offset: int) -> str:
    return f"{offset:016d}"


def chunks(data: bytes) -> list[tuple[int, bytes]]:
    return [(o, data[o : o + CHUNK]) for o in range(0, len(data), CHUNK)]


def listing(dav: webdav_stack.DavStack, path: str) -> dict[str, int]:
    """href -> getcontentlength ( -1 for folders) of a Depth 1 PROPFIND."""
    reply = dav.request("PROPFIND", path, b"", {"Depth": "1"})
    assert reply.status == 207, reply
    assert reply.headers["Content-Type"] == "application/xml; charset=utf-8"
    out = {}
    for resp in ET.fromstring(reply.body).iter("{DAV:}response"):
        size = resp.find(".//{DAV:}getcontentlength")
        out[resp.findtext("{DAV:}href") or ""] = int(size.text or 0) if size is not None else -1
    return out


def upload_chunks(dav: webdav_stack.DavStack, tid: str, parts: list[tuple[int, bytes]]) -> None:
    def put(part: tuple[int, bytes]) -> int:
        offset, body = part
        headers = {"OC-Chunk-Offset": str(offset)}
        return dav.request("PUT", f"{UPLOADS}/{tid}/{chunk_name(offset)}", body, headers).status

    with ThreadPoolExecutor(4) as pool:  # in parallel and out of order
        assert set(pool.map(put, list(reversed(parts)))) == {201}


def assemble(dav: webdav_stack.DavStack, tid: str, name: str, **extra: str) -> webdav_stack.Reply:
    headers = {
        "Destination": f"{dav.base}/{name}",
        "OC-Total-Length": str(len(DATA)),
        "OC-Checksum": f"SHA1:{SHA1}",
        "X-OC-Mtime": "1700000000",
        **extra,
    }
    return dav.request("MOVE", f"{UPLOADS}/{tid}/.file", None, headers)


def test_chunked_upload_protocol(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    # status.php: public, through the proxy when it is there.
    status = json.loads(dav.request("GET", "/status.php", auth=False).body)
    assert status["installed"] is True and status["productname"] and status["versionstring"]
    assert {"maintenance", "needsDbUpgrade", "version", "edition", "product"} <= set(status)
    assert http_get(dep.url("ocdav", path="/status"))[0] == 200  # public on ocdav itself too

    # Plain answers carry OC-Perm; MOVE keeps the file id and etag (a rename, not a new file).
    put = dav.request("PUT", "p.txt", b"plain", {"X-OC-Mtime": "1700000000"})
    assert (put.headers["OC-Perm"], put.headers["X-OC-MTime"]) == ("RDNVW", "accepted")
    assert dav.request("MKCOL", "folder").headers["OC-Perm"] == "RDNVCK"
    moved = dav.request("MOVE", "p.txt", None, {"Destination": f"{dav.base}/folder/q.txt"})
    assert moved.status == 201 and moved.headers["OC-Perm"] == "RDNVW"
    assert (moved.headers["OC-FileId"], moved.headers["ETag"]) == (put.headers["OC-FileId"], put.headers["ETag"])
    assert dav.request("PROPFIND", "p.txt", b"", {"Depth": "0"}).status == 404

    assert dav.request("MKCOL", f"{UPLOADS}/t1", headers={"OC-Total-Length": str(len(DATA))}).status == 201
    assert dav.request("MKCOL", f"{UPLOADS}/t1").status == 405
    parts = chunks(DATA)
    upload_chunks(dav, "t1", parts[1:])
    # What a resuming client sees: the stored chunks, by offset, and no file in the tree yet.
    seen = listing(dav, f"{UPLOADS}/t1")
    assert seen == {f"{UPLOADS}/t1/": -1, **{f"{UPLOADS}/t1/{chunk_name(o)}": len(b) for o, b in parts[1:]}}
    assert dav.request("PROPFIND", "big.bin", b"", {"Depth": "0"}).status == 404
    # Missing first chunk: the total does not add up, nothing is committed, the session stays.
    assert assemble(dav, "t1", "big.bin").status == 400
    upload_chunks(dav, "t1", parts[:1])
    assert assemble(dav, "t1", "big.bin", **{"OC-Checksum": "SHA1:" + "0" * 40}).status == 400
    assert assemble(dav, "t1", "big.bin", **{"OC-Total-Length": "5"}).status == 400
    assert dav.request("PROPFIND", "big.bin", b"", {"Depth": "0"}).status == 404

    done = assemble(dav, "t1", "big.bin")
    assert done.status == 201, done
    assert done.headers["X-OC-MTime"] == "accepted" and done.headers["OC-Perm"] == "RDNVW"
    assert done.headers["ETag"] == done.headers["OC-ETag"] and done.headers["OC-FileId"]
    got = dav.request("GET", "big.bin")
    assert hashlib.sha1(got.body).hexdigest() == SHA1 and got.headers["ETag"] == done.headers["ETag"]
    found = ET.fromstring(dav.request("PROPFIND", "big.bin", b"", {"Depth": "0"}).body)
    assert f'"{found.findtext(".//{DAV:}getetag")}"'.strip('"') == done.headers["ETag"].strip('"')
    assert found.findtext(".//{http://owncloud.org/ns}fileid") == done.headers["OC-FileId"]
    assert found.findtext(".//{DAV:}getlastmodified") == "Tue, 14 Nov 2023 22:13:20 GMT"

    # An update: the If etag must still match; the file keeps its id.
    assert dav.request("MKCOL", f"{UPLOADS}/t2").status == 201
    upload_chunks(dav, "t2", parts)
    assert assemble(dav, "t2", "big.bin", If='(["nope"])').status == 412
    again = assemble(dav, "t2", "big.bin", If=f"<{dav.base}/big.bin> ([{done.headers['ETag']}])")
    assert again.status == 204 and again.headers["OC-FileId"] == done.headers["OC-FileId"]

    # DELETE aborts: chunks gone, the folder is 404.
    assert dav.request("MKCOL", f"{UPLOADS}/t3").status == 201
    upload_chunks(dav, "t3", parts[:2])
    assert dav.request("DELETE", f"{UPLOADS}/t3").status == 204
    assert dav.request("PROPFIND", f"{UPLOADS}/t3", b"", {"Depth": "1"}).status == 404
    assert dav.request("PUT", f"{UPLOADS}/t3/{chunk_name(0)}", b"x").status == 404

    # Only the owner touches an upload folder.
    if dav.proxied:
        add_user(dep, "bob", "bob-password-1")
        bob = {"Authorization": "Basic " + b64encode(b"bob:bob-password-1").decode()}
        assert dav.request("MKCOL", f"{UPLOADS}/t4", headers=bob, auth=False).status == 404
        assert dav.request("MKCOL", "/remote.php/dav/uploads/bob/t1", headers=bob, auth=False).status == 201
        assert dav.request("PROPFIND", "/remote.php/dav/uploads/bob/t1", b"", {"Depth": "1"}).status == 404
        assert dav.request("MKCOL", f"{UPLOADS}/t1", headers=bob, auth=False).status == 404


def _half_put(dav: webdav_stack.DavStack, path: str, body: bytes) -> socket.socket:
    """A PUT whose body stops halfway; the caller kills a process while it hangs."""
    url = urlsplit(dav.root)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    head = f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in dav.auth.items()) + "\r\n"
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def test_chunked_upload_resumes_after_sigkill(dep: Deployment) -> None:
    _, storage, ocdav = dep.start_split("bus,gateway", "storage-users", "ocdav")
    dav = webdav_stack.connect(dep, proxied=False)
    parts = chunks(DATA)
    assert dav.request("MKCOL", f"{UPLOADS}/tk", headers={"OC-Total-Length": str(len(DATA))}).status == 201
    upload_chunks(dav, "tk", parts[:2])

    # SIGKILL of storage-users, then of ocdav, each in the middle of a chunk.
    for victim in ("storage-users", "ocdav"):
        offset, body = parts[2]
        with _half_put(dav, f"{UPLOADS}/tk/{chunk_name(offset)}", body):
            proc = storage if victim == "storage-users" else ocdav
            assert proc.alive()
            proc.kill()
        if victim == "storage-users":
            storage = dep.start_extension("storage-users")
        else:
            ocdav = dep.start_extension("ocdav")
        dav = webdav_stack.connect(dep, proxied=False)
        # The client's view on resume: exactly the complete chunks; no partial file anywhere.
        stored = listing(dav, f"{UPLOADS}/tk")
        assert stored == {f"{UPLOADS}/tk/": -1, **{f"{UPLOADS}/tk/{chunk_name(o)}": len(b) for o, b in parts[:2]}}
        assert listing(dav, "") == {f"{dav.base}/": -1}

    upload_chunks(dav, "tk", parts[2:])
    assert assemble(dav, "tk", "resumed.bin").status == 201
    assert hashlib.sha1(dav.request("GET", "resumed.bin").body).hexdigest() == SHA1
