"""Nothing lost: SIGKILL of ocdav in the middle of a PUT leaves the previous content whole and no partial file."""

from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from tests.support import webdav_stack
from tests.support.harness import Deployment

OLD = b"old content\n" * 1000
SIZE = 16 * 1024 * 1024


def test_sigkill_of_ocdav_during_put_keeps_the_old_file(dep: Deployment) -> None:
    _, ocdav = dep.start_split("bus,gateway,storage-users", "ocdav")
    dav = webdav_stack.connect(dep, proxied=False)
    assert dav.request("PUT", "f.txt", OLD).status == 201

    # Half a body, then the process serving it dies.
    url = urlsplit(dav.root)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as sock:
        head = f"PUT {dav.base}/f.txt HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {SIZE}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in dav.auth.items()) + "\r\n"
        sock.sendall(head.encode())
        # sendall returns once ocdav has taken in most of it (loopback buffers are far below 8 MiB),
        # so most of those bytes have already been streamed on to the storage's upload URL.
        sock.sendall(os.urandom(SIZE // 2))
        assert ocdav.alive()
        ocdav.kill()

    dep.start_extension("ocdav")
    dav = webdav_stack.connect(dep, proxied=False)
    get = dav.request("GET", "f.txt")
    assert (get.status, get.body) == (200, OLD)
    listing = ET.fromstring(dav.request("PROPFIND", "", b"", {"Depth": "1"}).body)
    hrefs = [h.text for h in listing.iter("{DAV:}href")]
    assert hrefs == [f"{dav.base}/", f"{dav.base}/f.txt"]

    # An answered PUT is there after the serving process is killed right after the answer.
    assert dav.request("PUT", "f.txt", b"new").status == 204
    dep.procs[-1].kill()
    dep.start_extension("ocdav")
    assert webdav_stack.connect(dep, proxied=False).request("GET", "f.txt").body == b"new"
