"""Manual scans through the proxy: POST /api/v0/antivirus/scans, its progress and per-file results,
each file's oc:scan-status, and one `scan-finished` event per file on the SSE stream."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.extensions.sse.stream_client import EventStream
from tests.support.clamd import EICAR, SIGNATURE, running_clamd
from tests.support.harness import Deployment, deployment, wait_until
from tests.support.identity import add_user
from tests.support.webdav_stack import DavStack

from . import dav as stack

pytestmark = pytest.mark.tools("clamd")
SCANS = "/api/v0/antivirus/scans"
SSE = "/ocs/v2.php/apps/notifications/api/v1/notifications/sse"
JSON = {"Content-Type": "application/json"}
FILES = 100


def answer(body: bytes) -> Any:
    """Our JSON answers; others' (the proxy's 401) as text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


@dataclass
class Server:
    dep: Deployment
    admin: DavStack
    bob: DavStack

    def post(self, body: bytes, who: DavStack | None = None, auth: bool = True) -> tuple[int, Any]:
        reply = (who or self.admin).request("POST", SCANS, body, JSON, auth=auth)
        return reply.status, answer(reply.body)

    def get(self, url: str, who: DavStack | None = None) -> tuple[int, Any]:
        reply = (who or self.admin).request("GET", url)
        return reply.status, answer(reply.body)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # continue: the EICAR upload stays (and readable) for the manual scan to find again.
    # The whole default selection plus antivirus: the one deployment of the suite that runs every
    # installed extension at once, so they are seen starting and serving side by side.
    with running_clamd() as clamd, deployment() as dep:
        admin = stack.start(dep, clamd, whole=True, ANTIVIRUS_INFECTED_FILE_HANDLING="continue")
        add_user(dep, "bob", "bob-pw-for-tests")
        basic = {"Authorization": "Basic " + b64encode(b"bob:bob-pw-for-tests").decode()}
        bob = DavStack(admin.root, "/remote.php/dav/files/bob", basic, True, user="bob", password="bob-pw-for-tests")
        yield Server(dep, admin, bob)


def test_a_folder_scan_reports_every_file(server: Server) -> None:
    dav = server.admin
    assert dav.request("MKCOL", "Photos").status == 201
    names = [f"p{i:03}.jpg" for i in range(FILES - 1)] + ["eicar.com"]
    for name in names:
        body = EICAR if name == "eicar.com" else f"not really a photo {name}\n".encode()
        assert dav.request("PUT", f"Photos/{name}", body).status == 201
    for name in names:
        stack.settled(dav, f"Photos/{name}")
    events = EventStream(server.dep.addr("proxy", "http_addr"), SSE, dav.auth)
    try:
        status, created = server.post(b'{"path": "/Photos"}')
        assert status == 202 and created["total"] == FILES and created["path"] == "/Photos"
        assert created["status_url"] == f"{SCANS}/{created['id']}"
        report = wait_until(
            lambda: (r := server.get(created["status_url"])[1])["state"] == "done" and r,
            stack.SETTLE,
            0.5,
            what="the scan done",
        )
        assert (report["total"], report["done"], report["infected"], report["errors"]) == (FILES, FILES, 1, 0)
        by_path = {f["path"]: f for f in report["files"]}
        assert len(by_path) == FILES and by_path["/Photos/eicar.com"]["scan_status"] == f"infected {SIGNATURE}"
        assert {f["scan_status"] for p, f in by_path.items() if p != "/Photos/eicar.com"} == {"clean"}
        assert all(f["scan_time"] >= report["created"] and "!" in f["resource_id"] for f in by_path.values())

        listing = {href.rsplit("/", 1)[-1]: p for href, p in stack.props(dav, "Photos", "1").items()}
        assert listing["eicar.com"]["oc:scan-status"] == f"infected {SIGNATURE}"
        assert sum(listing[n]["oc:scan-status"] == "clean" for n in names[:-1]) == FILES - 1

        def finished() -> list[Any]:
            return [e for e in events.of("scan-finished") if e.data.get("scan_id") == created["id"]]

        wait_until(lambda: len(finished()) >= FILES, stack.SETTLE, 0.2, what=f"{FILES} scan-finished events")
        assert sorted(e.data["path"] for e in finished()) == sorted(f"/Photos/{n}" for n in names)
    finally:
        events.close()


def test_a_scan_by_space_and_file(server: Server) -> None:
    dav = server.admin
    assert dav.request("PUT", "single.txt", b"one file").status == 201
    space = stack.settled(dav, "single.txt")["oc:id"].split("!")[0]
    status, created = server.post(json.dumps({"space_id": space, "path": "/single.txt"}).encode())
    assert status == 202 and created["total"] == 1
    report = wait_until(lambda: (r := server.get(created["status_url"])[1])["state"] == "done" and r, stack.SETTLE)
    assert [(f["path"], f["scan_status"]) for f in report["files"]] == [("/single.txt", "clean")]


def test_bad_requests_and_other_peoples_scans(server: Server) -> None:
    assert server.post(b"{not json")[0] == 400
    for body in (b"[]", b"{}", b'{"path": 7}', b'{"path": "relative"}', b'{"path": "/", "space_id": 1}'):
        status, answer = server.post(body)
        assert status == 400 and isinstance(answer["error"], str), body
    assert server.post(b'{"path": "/no/such/folder"}')[0] == 404
    assert server.post(b'{"path": "/"}', auth=False)[0] == 401
    assert server.admin.request("PUT", "mine.txt", b"mine").status == 201
    status, created = server.post(b'{"path": "/mine.txt"}')
    assert status == 202
    assert server.get(created["status_url"])[0] == 200
    assert server.get(created["status_url"], who=server.bob)[0] == 404  # not bob's: as if it did not exist
    for unknown in (f"{SCANS}/nothing", f"{SCANS}/{created['id'].split('!')[0]}!feedface"):
        assert server.get(unknown)[0] == 404
