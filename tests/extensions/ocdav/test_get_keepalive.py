"""A GET answered over the in-process hop keeps the client's connection open for its next request.

The data server's file answer is sent by ocdav inside the runtime; the proxy's
front server then prepares every answer once more. It must not send the file
again (which failed, dropped the access log line and closed the connection, so
a client's next request on it met a reset).
"""

from __future__ import annotations

import http.client
import os
import ssl
from base64 import b64encode

from tests.support import webdav_stack
from tests.support.harness import Deployment

DATA = os.urandom(200_000)


def test_get_then_propfind_on_one_connection(dep: Deployment) -> None:
    dav = webdav_stack.start(dep, env={"PROXY_ACCESS_LOG": "true"}, proxied=True)
    assert dav.request("PUT", "keep.bin", DATA).status == 201
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    host, port = dep.addr("proxy", "http_addr").rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=tls, timeout=30)
    auth = {"Authorization": "Basic " + b64encode(f"{dav.user}:{dav.password}".encode()).decode()}
    path = f"{dav.base}/keep.bin"
    try:
        conn.connect()
        sock = conn.sock
        for headers, status, body in (({}, 200, DATA), ({"Range": "bytes=10-19"}, 206, DATA[10:20])):
            conn.request("GET", path, headers={**auth, **headers})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (status, body)
            assert resp.getheader("Connection", "").lower() != "close"
            conn.request("PROPFIND", path, headers={**auth, "Depth": "0"})
            resp = conn.getresponse()
            assert resp.status == 207
            resp.read()
        assert conn.sock is sock  # never reopened: the server kept the connection
    finally:
        conn.close()
    gets = [line for line in dep.procs[-1].output().splitlines() if "method=GET" in line and "keep.bin" in line]
    assert len(gets) == 2, gets  # each GET reached the access log
