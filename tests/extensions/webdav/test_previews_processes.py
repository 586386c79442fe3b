"""Previews with thumbnails and webdav each in its own process, new files held for postprocessing.

The runtime runs the file stack and the front door with POSTPROCESSING_STEPS=delay
and no postprocessing: a new revision stays `processing` (its preview is 425 Too
Early) until the test, as the worker, completes its job; an infected one never gets
a preview (404). Stopping webdav sends `?preview=1` back to ocdav, which answers
the file itself.
"""

from __future__ import annotations

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.extensions.ocdav.test_processing import HELD, Worker, job_for
from tests.support import webdav_stack
from tests.support.harness import Deployment, wait_until

from .previews import image, preview, sabre, size_of


def test_own_process_previews_wait_for_processing_and_fall_back_to_ocdav(dep: Deployment) -> None:
    dep.start_runtime(webdav_stack.names(True), env=HELD)
    dav = webdav_stack.connect(dep, proxied=True)
    webdav = dep.start_extension("webdav")
    dep.start_extension("thumbnails")
    # x=0 is webdav's 400 (ocdav would answer 404 for the missing file): the proxy routes previews there.
    wait_until(lambda: preview(dav, "missing.png", "x=0").status == 400, 30, what="previews routed to webdav")
    data = image("PNG", 200, 100)
    assert dav.request("PUT", "p.png", data).status == 201
    early = preview(dav, "p.png", "x=64&y=64")
    sabre(early, 425, "TooEarly")
    assert early.headers["Retry-After"] == "5"
    assert preview(dav, "p.png", method="HEAD").status == 425
    worker = Worker(dep)
    assert worker.complete(job_for(worker, "/p.png"), pb.JOB_OUTCOME_READY).applied
    assert size_of(preview(dav, "p.png", "x=64&y=64")) == ("PNG", (64, 32))
    assert dav.request("PUT", "bad.png", data).status == 201
    infected = worker.complete(job_for(worker, "/bad.png"), pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar")
    assert infected.applied
    sabre(preview(dav, "bad.png"), 404, "NotFound")  # an infected image never becomes a preview
    webdav.stop()
    wait_until(lambda: preview(dav, "p.png").body == data, 30, what="previews back on ocdav")
