"""A manual scan (antivirus's scans API) runs as `scan` jobs: postprocessing scans each file with
a real clamd, never removes one, and announces each result with `scan-finished` and the progress."""

from __future__ import annotations

import json

import pytest

from ocisd.api.postprocessing.v1 import contract
from tests.support import webdav_stack
from tests.support.clamd import EICAR, SIGNATURE, running_clamd
from tests.support.harness import Deployment, wait_until

from .flow import STACK, Listener, admin_id, status

pytestmark = [
    pytest.mark.tools("clamd"),
    pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy"),
]
FILES = {"a.txt": b"first clean file", "b.txt": b"second clean file", "eicar.com": EICAR}


def test_manual_scan_announces_each_result_and_keeps_infected_files(dep: Deployment) -> None:
    with running_clamd() as clamd:
        # No steps for uploads: the files are ready at once, only the manual scan scans them.
        env = {"ANTIVIRUS_CLAMAV_SOCKET": clamd.address, "POSTPROCESSING_STEPS": "", "PROXY_ACCESS_LOG": "false"}
        dep.start_runtime(STACK + ",antivirus", env=env)
        dav = webdav_stack.connect(dep, proxied=True)
        listener = Listener(dep)
        try:
            assert dav.request("MKCOL", "box").status == 201
            for name, body in FILES.items():
                assert dav.request("PUT", f"box/{name}", body).status == 201
            assert dav.request("GET", "box/eicar.com").status == 200
            body = json.dumps({"path": "/box"}).encode()
            made = dav.request("POST", "/api/v0/antivirus/scans", body, {"Content-Type": "application/json"})
            assert made.status == 202, made
            scan_id = json.loads(made.body)["id"]

            def finished() -> list[dict[str, object]]:
                return [d for e, d in list(listener.events) if e == contract.SCAN_FINISHED]

            wait_until(lambda: len(finished()) == len(FILES), 90, 0.2, what="a scan-finished per file")
            events = finished()
            assert {e["scan_id"] for e in events} == {scan_id}
            assert sorted(e["done"] for e in events)[-1] == len(FILES)  # type: ignore[type-var]
            assert {e["total"] for e in events} == {len(FILES)}
            assert all(e["recipients"] == [admin_id(dep)] and e["scan_time"] for e in events)
            by_path = {e["path"]: e["scan_status"] for e in events}
            assert by_path == {"/box/a.txt": "clean", "/box/b.txt": "clean", "/box/eicar.com": f"infected {SIGNATURE}"}
            # Handling `delete` never removes a file a manual scan found: it is kept and blocked.
            infected = status(dav, "box/eicar.com")
            assert infected["scan-status"] == f"infected {SIGNATURE}"
            assert infected["processing-status"] == contract.INFECTED
            assert dav.request("GET", "box/eicar.com").status == 403
            assert dav.request("GET", "box/a.txt").status == 200
            assert not [e for e, _ in listener.events if e == contract.POSTPROCESSING_FINISHED]
        finally:
            listener.close()
