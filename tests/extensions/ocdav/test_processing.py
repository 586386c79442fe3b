"""New revisions held for postprocessing, over WebDAV through the TLS proxy with real processes.

No postprocessing runs here: the tests are the worker, calling storage-users' Processing
service with a service token (the real API postprocessing uses).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from base64 import b64encode
from dataclasses import dataclass

import grpc
import pytest

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until

OC = "{http://owncloud.org/ns}"
HELD = {"POSTPROCESSING_STEPS": "delay", "PROXY_ACCESS_LOG": "false"}

pytestmark = pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy")


@dataclass
class Worker:
    """A postprocessing worker talking to one storage-users instance's Processing service."""

    dep: Deployment
    name: str = "worker-1"

    def call(self, method: str, request: object, token: str | None = None) -> object:
        secret = webdav_stack.secrets(self.dep)["jwt_secret"]
        token = token or identity.mint(secret, identity.service_identity("postprocessing"), ttl=600)
        with grpc.insecure_channel(self.dep.addr("storage-users", "grpc_addr")) as channel:
            stub = pb_grpc.ProcessingStub(channel)
            return getattr(stub, method)(request, metadata=[(identity.GRPC_METADATA, token)], timeout=30)

    def claim(self, limit: int = 10, lease: int = 30) -> list[pb.Job]:
        reply = self.call("Claim", pb.ClaimJobsRequest(worker=self.name, limit=limit, lease_seconds=lease))
        assert isinstance(reply, pb.ClaimJobsResponse)
        return list(reply.jobs)

    def complete(self, job: pb.Job, outcome: int, **details: object) -> pb.CompleteJobResponse:
        request = pb.CompleteJobRequest(job_id=job.id, worker=self.name, outcome=outcome, **details)  # type: ignore[arg-type]
        reply = self.call("Complete", request)
        assert isinstance(reply, pb.CompleteJobResponse)
        return reply


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
    assert list(renewed.job_ids) == [job.id]  # type: ignore[attr-defined]
    again = wait_claimable(two, "/a.txt")
    assert again.id == job.id and again.worker == "two"
    late = one.complete(job, pb.JOB_OUTCOME_READY)
    assert not late.applied and late.state == "leased"
    assert dav.request("GET", "a.txt").status == 425
    assert two.complete(again, pb.JOB_OUTCOME_READY).applied
    assert dav.request("GET", "a.txt").status == 200
    time.sleep(0)  # nothing left
    assert one.claim() == [] and two.claim() == []
