"""ocdav hands upload bodies to a data server in its own runtime directly; over loopback HTTP the results match.

Both stacks run everything in one runtime behind the proxy; one with
`OCIS_LOCAL_HOP=false`. ocdav's `ocdav_upload_transfers_total{path=...}`
counter shows which path each upload body took.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from tests.support import webdav_stack
from tests.support.harness import Deployment, deployment, metric_value, wait_until

MIB = 1 << 20
BIG = os.urandom(8 * MIB)
OTHER = os.urandom(3 * MIB + 5)
QUOTA = 24 * MIB
UPLOADS = "/remote.php/dav/uploads/admin"
TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
TRANSFERS = "ocdav_upload_transfers_total"


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def transfers(dep: Deployment) -> dict[str, int]:
    text = dep.metrics("ocdav")
    return {path: int(metric_value(text, TRANSFERS, f'path="{path}"')) for path in ("local", "http")}


def answered_puts(dep: Deployment) -> int:
    """PUTs ocdav has answered so far, whatever the status."""
    prefix = 'ocdav_requests_total{method="PUT",'
    return sum(int(float(line.split()[-1])) for line in dep.metrics("ocdav").splitlines() if line.startswith(prefix))


def parts(dep: Deployment) -> list[str]:
    """Upload bodies the data server is staging (or failed to remove)."""
    return [p.name for p in dep.data_dir.rglob("blobs/tmp/*.part")]


def content(dav: webdav_stack.DavStack, path: str) -> str:
    """SHA1 of the file's content, "missing" when there is none."""
    got = dav.request("GET", path)
    return sha1(got.body) if got.status == 200 else "missing"


class RawPut:
    """A PUT that announces `size` bytes and sends them when told: to cut a body short or to hold it."""

    def __init__(self, dav: webdav_stack.DavStack, path: str, size: int, headers: dict[str, str]) -> None:
        url = urlsplit(dav.root)
        sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=30)
        if url.scheme == "https":
            tls = ssl.create_default_context()
            tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
            sock = tls.wrap_socket(sock, server_hostname=url.hostname)
        self.sock = sock
        fields = {"Host": url.netloc, "Content-Length": str(size), **dav.auth, **headers}
        head = f"PUT {dav.base}/{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        sock.sendall(head.encode() + b"\r\n")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def status(self) -> int:
        reply = b""
        while b"\r\n" not in reply:
            piece = self.sock.recv(4096)
            assert piece, "connection closed without an answer"
            reply += piece
        self.sock.close()
        return int(reply.split()[1])

    def close(self) -> None:
        self.sock.close()


def put_cut_short(dep: Deployment, dav: webdav_stack.DavStack, path: str) -> None:
    """8 MiB announced, 1 MiB sent, connection closed; returns once ocdav answered and the part is gone."""
    before = answered_puts(dep)
    raw = RawPut(dav, path, len(BIG), {})
    raw.send(BIG[:MIB])
    raw.close()
    wait_until(lambda: answered_puts(dep) > before, 30, what="ocdav done with the cut-short PUT")
    wait_until(lambda: not parts(dep), 30, what="the partial upload removed")


def lost_if_match_race(dep: Deployment, dav: webdav_stack.DavStack, path: str) -> tuple[int, int]:
    """A PUT with the right If-Match whose body arrives only after another PUT replaced the file."""
    etag = dav.request("PUT", path, b"first").headers["ETag"]
    raw = RawPut(dav, path, len(OTHER), {"If-Match": etag})
    raw.send(OTHER[:MIB])
    # Its checks passed and the data server stages the body: only the commit can refuse it now.
    wait_until(lambda: parts(dep), 30, what="the held PUT staged at the data server")
    winner = dav.request("PUT", path, b"second").status
    raw.send(OTHER[MIB:])
    return winner, raw.status()


def chunking_ng(dav: webdav_stack.DavStack, tid: str, name: str, data: bytes) -> list[int]:
    statuses = [dav.request("MKCOL", f"{UPLOADS}/{tid}").status]
    for offset in range(0, len(data), MIB):
        body = data[offset : offset + MIB]
        reply = dav.request("PUT", f"{UPLOADS}/{tid}/{offset:016d}", body, {"OC-Chunk-Offset": str(offset)})
        statuses.append(reply.status)
    move = {"Destination": f"{dav.base}/{name}", "OC-Total-Length": str(len(data)), "OC-Checksum": f"SHA1:{sha1(data)}"}
    statuses.append(dav.request("MOVE", f"{UPLOADS}/{tid}/.file", None, move).status)
    return statuses


def tus(dav: webdav_stack.DavStack, name: str, data: bytes) -> list[int | str]:
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    created = dav.request(
        "POST", "", None, {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta}
    )
    where = urlsplit(created.headers["Location"]).path
    half = len(data) // 2
    first = dav.request("PATCH", where, data[:half], {**TUS, "Upload-Offset": "0"})
    last = dav.request("PATCH", where, data[half:], {**TUS, "Upload-Offset": str(half)})
    return [created.status, first.status, first.headers["Upload-Offset"], last.status, last.headers["Upload-Offset"]]


def quota_available(dav: webdav_stack.DavStack) -> int:
    ask = b'<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/></d:prop></d:propfind>'
    reply = dav.request("PROPFIND", "", ask, {"Depth": "0"})
    return int(ET.fromstring(reply.body).findtext(".//{DAV:}quota-available-bytes") or -1)


def exercise(dep: Deployment, dav: webdav_stack.DavStack) -> dict[str, Any]:
    """Every upload path and its errors; what a client sees of them, to compare between the two paths."""
    seen: dict[str, Any] = {}
    seen["put"] = [dav.request("PUT", "big.bin", BIG).status, content(dav, "big.bin") == sha1(BIG)]
    seen["replace"] = [
        dav.request("PUT", "big.bin", OTHER, chunked=True).status,
        content(dav, "big.bin") == sha1(OTHER),
    ]
    seen["chunking"] = [chunking_ng(dav, "t1", "ng.bin", BIG), content(dav, "ng.bin") == sha1(BIG)]
    seen["tus"] = [tus(dav, "tus.bin", OTHER), content(dav, "tus.bin") == sha1(OTHER)]

    put_cut_short(dep, dav, "cut.bin")
    put_cut_short(dep, dav, "big.bin")
    seen["cut short"] = [content(dav, "cut.bin"), content(dav, "big.bin") == sha1(OTHER)]

    too_much = b"\0" * (quota_available(dav) + 1)
    seen["quota"] = [
        dav.request("PUT", "q.bin", too_much, chunked=True).status,
        dav.request("PUT", "q.bin", too_much).status,
    ]
    seen["quota file"] = content(dav, "q.bin")

    seen["if-match"] = dav.request("PUT", "big.bin", b"x", {"If-Match": '"not-the-etag"'}).status
    seen["if-match race"] = [*lost_if_match_race(dep, dav, "race.txt"), dav.request("GET", "race.txt").body]
    return seen


def run(local_hop: bool) -> tuple[dict[str, Any], dict[str, int]]:
    with deployment() as dep:
        env = {"STORAGE_USERS_QUOTA": str(QUOTA), "OCIS_LOCAL_HOP": str(local_hop).lower()}
        dav = webdav_stack.start(dep, env=env)
        return exercise(dep, dav), transfers(dep)


def test_uploads_take_the_local_hop_with_the_loopback_results() -> None:
    local, local_paths = run(True)
    assert local["put"] == [201, True] and local["replace"] == [204, True]
    assert local["chunking"] == [[201, *[201] * 8, 201], True]
    assert local["tus"] == [[201, 204, str(len(OTHER) // 2), 204, str(len(OTHER))], True]
    assert local["cut short"] == ["missing", True]  # no file, and the previous content intact
    assert local["quota"] == [507, 507] and local["quota file"] == "missing"
    assert local["if-match"] == 412
    assert local["if-match race"] == [204, 412, b"second"]
    # Every body went in-process: 2 PUTs, 8 chunks, 2 PATCHes, 2 cut short, 1 over quota, 3 in the race.
    assert local_paths == {"local": 18, "http": 0}

    loopback, loopback_paths = run(False)
    assert loopback == local
    assert loopback_paths == {"local": 0, "http": 18}
