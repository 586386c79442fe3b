"""New revisions held for postprocessing, over WebDAV through the TLS proxy with real processes.

No postprocessing runs here: the tests are the worker, calling storage-users' Processing
service with a service token (the real API postprocessing uses).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from base64 import b64encode

import grpc
import pytest

from ocisd import identity
from ocisd.api.sharing.v1.permissions import CREATE, READ, UPDATE
from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.extensions.public_links import links
from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until
from tests.support.processing import Worker

OC = "{http://owncloud.org/ns}"
HELD = {"POSTPROCESSING_STEPS": "delay", "PROXY_ACCESS_LOG": "false"}

pytestmark = pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy")


def props(dav: webdav_stack.DavStack, path: str) -> dict[str, str]:
    reply = dav.request("PROPFIND", path, b"", {"Depth": "0"})
    assert reply.status == 207, reply
    found = ET.fromstring(reply.body).find(".//{DAV:}propstat/{DAV:}prop")
    assert found is not None
    return {el.tag.replace(OC, "oc:").replace("{DAV:}", "d:"): el.text or "" for el in found}


def job_for(worker: Worker, path: str) -> pb.Job:
    jobs = [j for j in worker.claim() if j.path == path]
    assert len(jobs) == 1, jobs
    return jobs[0]


def start(dep: Deployment, env: dict[str, str] | None = None) -> webdav_stack.DavStack:
    dep.start_runtime(webdav_stack.names(True), env={**HELD, **(env or {})})
    return webdav_stack.connect(dep, proxied=True)


def test_a_put_is_processing_until_completed_ready(dep: Deployment) -> None:
    dav = start(dep)
    assert dav.request("PUT", "a.txt", b"first").status == 201
    assert props(dav, "a.txt")["oc:processing-status"] == "processing"
    for method in ("GET", "HEAD"):
        early = dav.request(method, "a.txt")
        assert early.status == 425 and early.headers["Retry-After"] == "5", early
    assert b"TooEarly" in dav.request("GET", "a.txt").body

    worker = Worker(dep)
    job = job_for(worker, "/a.txt")
    assert job.kind == "upload" and job.size == 5 and job.state == "leased" and job.revision
    done = worker.complete(job, pb.JOB_OUTCOME_READY, scan_status="clean")
    assert done.applied and done.state == "done" and done.info.processing_status == "ready"
    assert set(done.recipients) == {done.info.owner_id}
    got = dav.request("GET", "a.txt")
    assert got.status == 200 and got.body == b"first"
    seen = props(dav, "a.txt")
    assert seen["oc:processing-status"] == "ready" and seen["oc:scan-status"] == "clean"
    assert seen["oc:scan-time"].endswith(" GMT") and seen["oc:scan-partial"] == "false"
    assert seen["oc:has-preview"] == "true"  # text/plain, ready
    assert worker.claim() == []

    # An overwrite: the new revision waits, the old one stays downloadable as a version.
    assert dav.request("PUT", "a.txt", b"second").status == 204
    assert dav.request("GET", "a.txt").status == 425
    fid = props(dav, "a.txt")["oc:fileid"]
    listing = dav.request("PROPFIND", f"/remote.php/dav/meta/{fid}/v", b"", {"Depth": "1"})
    hrefs = [h.text for h in ET.fromstring(listing.body).iter("{DAV:}href") if not (h.text or "").endswith("/v/")]
    assert len(hrefs) == 1
    assert dav.request("GET", hrefs[0] or "").body == b"first"


def test_tus_chunking_ng_and_copy_are_held_too(dep: Deployment) -> None:
    dav = start(dep)
    meta = "filename " + b64encode(b"tus.bin").decode()
    tus_headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "3", "Upload-Metadata": meta}
    tus_headers["Content-Type"] = "application/offset+octet-stream"
    assert dav.request("POST", "", b"tus", tus_headers).status == 201  # TUS creation with upload
    session = f"/remote.php/dav/uploads/{webdav_stack.ADMIN}/ng"
    chunk = f"{session}/{0:016d}"
    assert dav.request("MKCOL", session).status == 201 and dav.request("PUT", chunk, b"chunked").status == 201
    assembled = dav.request("MOVE", f"{session}/.file", None, {"Destination": f"{dav.base}/ng.bin"})
    assert assembled.status == 201  # chunking NG
    assert dav.request("MKCOL", "dir").status == 201
    assert dav.request("PUT", "dir/in.bin", b"inside").status == 201
    assert dav.request("COPY", "dir", None, {"Destination": f"{dav.base}/dir2"}).status == 201
    for path in ("tus.bin", "ng.bin", "dir/in.bin", "dir2/in.bin"):
        assert props(dav, path)["oc:processing-status"] == "processing", path
        assert dav.request("GET", path).status == 425, path
    assert "oc:processing-status" not in props(dav, "dir")  # files only

    worker = Worker(dep)
    jobs = worker.claim()
    assert sorted(j.path for j in jobs) == ["/dir/in.bin", "/dir2/in.bin", "/ng.bin", "/tus.bin"]
    for job in jobs:
        assert worker.complete(job, pb.JOB_OUTCOME_READY).applied
    assert [dav.request("GET", p).body for p in ("tus.bin", "ng.bin", "dir2/in.bin")] == [b"tus", b"chunked", b"inside"]
    # A MOVE keeps the state: no new job, still ready.
    assert dav.request("MOVE", "tus.bin", None, {"Destination": f"{dav.base}/moved.bin"}).status == 201
    assert props(dav, "moved.bin")["oc:processing-status"] == "ready" and worker.claim() == []


def test_without_steps_nothing_is_held(dep: Deployment) -> None:
    dav = start(dep, {"POSTPROCESSING_STEPS": ""})
    assert dav.request("PUT", "a.txt", b"x").status == 201
    assert dav.request("GET", "a.txt").body == b"x"
    assert props(dav, "a.txt")["oc:processing-status"] == "ready"
    assert Worker(dep).claim() == []


def test_only_services_reach_the_queue(dep: Deployment) -> None:
    start(dep)
    secret = webdav_stack.secrets(dep)["jwt_secret"]
    user = identity.mint(secret, identity.Identity(user_id="someone", username="someone"), ttl=600)
    with pytest.raises(grpc.RpcError) as refused:
        Worker(dep).call("Claim", pb.ClaimJobsRequest(worker="w", lease_seconds=5), token=user)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def wait_claimable(worker: Worker, path: str, deadline: float = 30) -> pb.Job:
    found: list[pb.Job] = []
    wait_until(lambda: found.extend(j for j in worker.claim() if j.path == path) or found, deadline, what=path)
    return found[0]


def test_leases(dep: Deployment) -> None:
    """Two workers never hold the same job; an unrenewed lease runs out and the job goes to the next
    claim; the first worker's late Complete changes nothing."""
    dav = start(dep)
    assert dav.request("PUT", "a.txt", b"x").status == 201
    one, two = Worker(dep, "one"), Worker(dep, "two")
    job = one.claim(lease=2)[0]
    assert two.claim() == []
    renewed = one.call("Renew", pb.RenewJobsRequest(worker="one", job_ids=[job.id], lease_seconds=2))
    assert list(renewed.job_ids) == [job.id]
    again = wait_claimable(two, "/a.txt")
    assert again.id == job.id and again.worker == "two"
    late = one.complete(job, pb.JOB_OUTCOME_READY)
    assert not late.applied and late.state == "leased"
    assert dav.request("GET", "a.txt").status == 425
    assert two.complete(again, pb.JOB_OUTCOME_READY).applied
    assert dav.request("GET", "a.txt").status == 200
    assert one.claim() == [] and two.claim() == []


def test_public_upload_and_every_dav_path_hold_and_block() -> None:
    """A public-link upload is held too; files/, webdav/ and public-files/ answer 425, then 403 once
    blocked (infected, not downloadable), and 200 for a ready file."""
    with links.stack(HELD) as (dep, dav):
        assert dav.request("MKCOL", "pub").status == 201
        sharing = links.Sharing(dep)
        token = sharing.link(links.fileid(dav, "pub"), READ | CREATE | UPDATE).token
        sharing.close()
        assert links.public(dav, token, "PUT", "up.bin", b"dropped").status == 201
        assert dav.request("PUT", "pub/ok.bin", b"fine").status == 201
        where = {"/remote.php/webdav/pub/up.bin", f"{dav.base}/pub/up.bin", f"{links.PUBLIC_FILES}{token}/up.bin"}
        for path in where:
            early = dav.request("GET", path, auth=not path.startswith(links.PUBLIC_FILES))
            assert early.status == 425 and early.headers["Retry-After"] == "5", path

        worker = Worker(dep)
        jobs = {j.path: j for j in worker.claim()}
        assert set(jobs) == {"/pub/up.bin", "/pub/ok.bin"}
        worker.complete(jobs["/pub/up.bin"], pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar")
        worker.complete(jobs["/pub/ok.bin"], pb.JOB_OUTCOME_READY, scan_status="clean")
        for path in where:
            for method in ("GET", "HEAD"):
                blocked = dav.request(method, path, auth=not path.startswith(links.PUBLIC_FILES))
                assert blocked.status == 403, (method, path)
        assert b"Forbidden" in dav.request("GET", "pub/up.bin").body
        assert props(dav, "pub/up.bin")["oc:scan-status"] == "infected Eicar"
        assert props(dav, "pub/up.bin")["oc:has-preview"] == "false"
        assert links.public(dav, token, "GET", "ok.bin").body == b"fine"
