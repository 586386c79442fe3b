"""Legacy (v1) chunked uploads: `<name>-chunking-<transfer>-<count>-<index>` with OC-Chunked, gathered in sessions."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import owncloud
from pytest import MonkeyPatch

from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until

CHUNK = 64 * 1024
DATA = os.urandom(3 * CHUNK + 123)
SHA1 = hashlib.sha1(DATA).hexdigest()
PARTS = [DATA[i : i + CHUNK] for i in range(0, len(DATA), CHUNK)]
UPLOADS = "/remote.php/dav/uploads/admin"


def put_chunk(
    dav: webdav_stack.DavStack, name: str, transfer: str, index: int, count: int = len(PARTS), **headers: str
) -> webdav_stack.Reply:
    body = PARTS[index] if index < len(PARTS) else b"x"
    return dav.request("PUT", f"{name}-chunking-{transfer}-{count}-{index}", body, {"OC-Chunked": "1", **headers})


def listed(dav: webdav_stack.DavStack, path: str = "") -> set[str]:
    reply = dav.request("PROPFIND", path, b"", {"Depth": "1"})
    assert reply.status == 207, reply
    return {href.text or "" for href in ET.fromstring(reply.body).iter("{DAV:}href")}


def sessions(dav: webdav_stack.DavStack) -> set[str]:
    return listed(dav, UPLOADS) - {f"{UPLOADS}/"}


def test_pyocclient_uploads_in_chunks(dep: Deployment, tmp_path: os.PathLike[str], monkeypatch: MonkeyPatch) -> None:
    """The real client: a file of four chunks through the proxy, on /remote.php/webdav and dav/files."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests would verify the self-signed proxy anyway
        monkeypatch.delenv(name, raising=False)
    dep.start_runtime(webdav_stack.names(True) + ",frontend", env={"PROXY_ACCESS_LOG": "false"})
    dav = webdav_stack.connect(dep, proxied=True)
    source = os.path.join(tmp_path, "big.bin")
    with open(source, "wb") as fh:
        fh.write(DATA)
    for version, base in ((None, "/remote.php/webdav"), (2, "/remote.php/dav/files/admin")):
        kwargs = {} if version is None else {"dav_endpoint_version": version}
        client = owncloud.Client(dav.root, verify_certs=False, **kwargs)
        wait_until(lambda c=client: _login(c), 30, what="OCS capabilities")
        assert client._webdav_url.endswith(base)
        name = f"/lib-{version}.bin"
        assert client.put_file(name, source, chunked=True, chunk_size=CHUNK) is True
        assert hashlib.sha1(client.get_file_contents(name)).hexdigest() == SHA1
        assert int(client.file_info(name).get_size()) == len(DATA)
    files = listed(dav)
    assert not [f for f in files if "-chunking-" in f], files  # no chunk ever lands in the tree


def _login(client: owncloud.Client) -> bool:
    try:
        client.login(webdav_stack.ADMIN, webdav_stack.PASSWORD)
    except owncloud.HTTPResponseError:
        return False
    return True


def test_legacy_chunks_in_any_order(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    # Out of order and repeated chunks: only the one completing the set answers with the file.
    for index in (2, 0, 0, 3):
        reply = put_chunk(dav, "any.bin", "7001", index, **{"X-OC-Mtime": "1700000000"})
        assert reply.status == 201 and "ETag" not in reply.headers, reply
        assert dav.request("PROPFIND", "any.bin", b"", {"Depth": "0"}).status == 404
    done = put_chunk(dav, "any.bin", "7001", 1, **{"X-OC-Mtime": "1700000000", "OC-Checksum": f"SHA1:{SHA1}"})
    assert done.status == 201, done
    assert done.headers["ETag"] == done.headers["OC-ETag"] and done.headers["OC-FileId"]
    assert done.headers["X-OC-MTime"] == "accepted"
    got = dav.request("GET", "any.bin")
    assert hashlib.sha1(got.body).hexdigest() == SHA1 and got.headers["ETag"] == done.headers["ETag"]
    found = ET.fromstring(dav.request("PROPFIND", "any.bin", b"", {"Depth": "0"}).body)
    assert found.findtext(".//{DAV:}getlastmodified") == "Tue, 14 Nov 2023 22:13:20 GMT"

    # A second upload of the same file with the same transfer id (pyocclient: the same second) replaces it.
    for index in range(len(PARTS)):
        again = put_chunk(dav, "any.bin", "7001", index, **{"If-Match": done.headers["ETag"]})
    assert again.status == 204 and again.headers["OC-FileId"] == done.headers["OC-FileId"]
    # Conditions hold for the file: a stale If-Match refuses the upload, the file stays.
    assert put_chunk(dav, "any.bin", "7002", 0, **{"If-Match": '"stale"'}).status == 412
    assert hashlib.sha1(dav.request("GET", "any.bin").body).hexdigest() == SHA1

    # All chunks at once: the file appears once, whole; every answer is a 201 or the file's.
    with ThreadPoolExecutor(len(PARTS)) as pool:
        answers = list(pool.map(lambda i: put_chunk(dav, "par.bin", "8", i), range(len(PARTS))))
    assert {a.status for a in answers} == {201}, answers
    assert len({a.headers["ETag"] for a in answers if "ETag" in a.headers}) == 1
    assert hashlib.sha1(dav.request("GET", "par.bin").body).hexdigest() == SHA1

    # On /remote.php/webdav too, into a folder.
    assert dav.request("MKCOL", "sub").status == 201
    old = webdav_stack.DavStack(dav.root, "/remote.php/webdav", dav.auth, dav.proxied)
    assert [put_chunk(old, "sub/w.bin", "9", i).status for i in range(len(PARTS))] == [201] * len(PARTS)
    assert hashlib.sha1(dav.request("GET", "sub/w.bin").body).hexdigest() == SHA1
    assert not [f for f in listed(dav, "sub") if "-chunking-" in f]


def test_legacy_chunks_refused(dep: Deployment) -> None:
    dav = webdav_stack.start(dep)
    # Without OC-Chunked the name is just a name.
    plain = dav.request("PUT", "notes-chunking-42-2-0", b"plain")
    assert plain.status == 201 and dav.request("GET", "notes-chunking-42-2-0").body == b"plain"

    assert put_chunk(dav, "bad.bin", "1", 3, count=3).status == 400  # index >= count
    assert put_chunk(dav, "bad.bin", "1", 0, count=0).status == 400
    assert dav.request("PUT", "bad.bin", b"x", {"OC-Chunked": "1"}).status == 400  # not a chunk name
    assert put_chunk(dav, "bad.bin", "1", 0).status == 201
    assert put_chunk(dav, "bad.bin", "1", 1, count=len(PARTS) + 1).status == 400  # another count, same transfer

    # A wrong checksum: 400 and nothing visible; the right one on a resend of the last chunk commits.
    for index in range(1, len(PARTS) - 1):
        assert put_chunk(dav, "bad.bin", "1", index).status == 201
    wrong = put_chunk(dav, "bad.bin", "1", len(PARTS) - 1, **{"OC-Checksum": "SHA1:" + "0" * 40})
    assert wrong.status == 400, wrong
    assert dav.request("PROPFIND", "bad.bin", b"", {"Depth": "0"}).status == 404
    right = put_chunk(dav, "bad.bin", "1", len(PARTS) - 1, **{"OC-Checksum": f"SHA1:{SHA1}"})
    assert right.status == 201 and hashlib.sha1(dav.request("GET", "bad.bin").body).hexdigest() == SHA1

    # Into a folder that does not exist: refused at the first chunk.
    assert put_chunk(dav, "nowhere/x.bin", "1", 0).status == 409


def test_legacy_chunks_survive_sigkill_of_storage(dep: Deployment) -> None:
    # The chunk sent while storage is down fails once the wait for an instance is over: keep it short.
    dep.env["OCIS_GRPC_NO_INSTANCE_WAIT"] = "500ms"
    _, storage, _ = dep.start_split("bus,gateway", "storage-users", "ocdav")
    dav = webdav_stack.connect(dep, proxied=False)
    assert [put_chunk(dav, "k.bin", "55", i).status for i in range(2)] == [201, 201]
    storage.kill()  # between chunks
    assert put_chunk(dav, "k.bin", "55", 2).status >= 500  # an error while storage is down, never a 201
    dep.start_extension("storage-users")
    dav = webdav_stack.connect(dep, proxied=False)
    assert dav.request("PROPFIND", "k.bin", b"", {"Depth": "0"}).status == 404
    assert not [f for f in listed(dav) if "k.bin" in f]
    assert put_chunk(dav, "k.bin", "55", 2).status == 201
    done = put_chunk(dav, "k.bin", "55", 3)
    assert done.status == 201 and done.headers["ETag"]
    assert hashlib.sha1(dav.request("GET", "k.bin").body).hexdigest() == SHA1


def test_stale_legacy_transfer_expires(dep: Deployment) -> None:
    dav = webdav_stack.start(dep, env={"STORAGE_USERS_UPLOAD_EXPIRATION": "2s"})
    assert put_chunk(dav, "old.bin", "3", 0).status == 201
    assert len(sessions(dav)) == 1
    wait_until(lambda: not sessions(dav), 30, what="the stale transfer to expire")
    # The rest of the transfer after its expiry never makes a file of the missing chunk.
    assert [put_chunk(dav, "old.bin", "3", i).status for i in range(1, len(PARTS))] == [201] * (len(PARTS) - 1)
    assert dav.request("PROPFIND", "old.bin", b"", {"Depth": "0"}).status == 404


def test_legacy_upload_over_quota(dep: Deployment) -> None:
    """The sessions' quota check holds for legacy chunks: 507 at the chunk that no longer fits, no file."""
    dav = webdav_stack.start(dep, env={"STORAGE_USERS_QUOTA": str(CHUNK + CHUNK // 2)})
    assert put_chunk(dav, "full.bin", "4", 0).status == 201
    assert put_chunk(dav, "full.bin", "4", 1).status == 507
    assert dav.request("PROPFIND", "full.bin", b"", {"Depth": "0"}).status == 404
