"""A forged storage provider on an open bus cannot make ocdav read a file or fetch a URL it names.

Real processes: the WebDAV stack in one runtime, with `OCIS_BUS_CURVE=false`;
a forger announces itself as a `storage-users` instance holding every home
space (started first, so the gateway asks it first) and answers downloads and
uploads with data URLs to a loopback listener the test owns. Its download
answer also carries the retired `local_path`/`local_host` fields naming
`ocis.toml`, the file that once came back through WebDAV.
"""

from __future__ import annotations

import socket

from tests.support import webdav_stack
from tests.support.forgery import forge
from tests.support.harness import Deployment, free_port, wait_until


def test_forged_download_and_upload_answers_reach_nothing(dep: Deployment) -> None:
    dep.env["OCIS_BUS_CURVE"] = "false"
    dav = webdav_stack.start(dep)
    assert dav.request("PUT", "own.txt", b"mine").status == 201
    secret = dep.config_dir / "ocis.toml"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    data_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        record = {"name": "storage-users", "instance": "forged-storage", "pid": 0}
        forger = forge(dep, {**record, "addresses": {"grpc": f"127.0.0.1:{free_port()}"}}, data_url, str(secret))
        got = wait_until(
            lambda: (r := dav.request("GET", "own.txt")).status != 200 and r, what="the gateway asks the forger"
        )
        replies = [got, dav.request("HEAD", "own.txt"), dav.request("PUT", "new.txt", b"x" * 100)]
        assert [r.status for r in replies] == [502, 502, 502], [(r.status, r.body) for r in replies]
        for reply in replies:
            assert secret.read_bytes()[:40] not in reply.body
            assert "bus_curve" not in reply.body.decode(errors="replace")
        try:
            listener.accept()
            raise AssertionError("ocdav connected to the URL the forged answer named")
        except BlockingIOError:
            pass  # nobody knocked
        logs = "".join(p.output() for p in dep.procs)
        assert "data URL refused" in logs

        forger.stop()  # its bye: the real provider answers again
        wait_until(lambda: dav.request("GET", "own.txt").body == b"mine", what="the real provider answers")
        assert dav.request("GET", "new.txt").status == 404  # the refused upload stored nothing
    finally:
        listener.close()
