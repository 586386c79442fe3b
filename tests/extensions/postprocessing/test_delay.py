"""postprocessing in `ocis server` with the `delay` step: the upload is answered at once, the
file is 425 while processing and 200 once postprocessing completed it, and the bus says so."""

from __future__ import annotations

import pytest

from ocisd.api.postprocessing.v1 import contract
from tests.support import webdav_stack
from tests.support.harness import Deployment, metric_value, wait_until

from .flow import STACK, Listener, admin_id, status, step_runs

DELAY = 5  # seconds: long enough to see the file processing after the upload answered
pytestmark = pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy")


def test_upload_is_answered_at_once_then_425_until_ready(dep: Deployment) -> None:
    env = {"POSTPROCESSING_STEPS": "delay", "POSTPROCESSING_DELAY": f"{DELAY}s", "PROXY_ACCESS_LOG": "false"}
    dep.start_runtime(STACK, env=env)
    dav = webdav_stack.connect(dep, proxied=True)
    listener = Listener(dep)
    try:
        assert dav.request("PUT", "report.txt", b"quarterly numbers").status == 201
        early = dav.request("GET", "report.txt")
        assert early.status == 425 and early.headers["Retry-After"] == str(contract.RETRY_AFTER_SECONDS), early
        # The step is still running: the upload's answer did not wait for it.
        assert status(dav, "report.txt")["processing-status"] == contract.PROCESSING
        wait_until(lambda: dav.request("GET", "report.txt").status == 200, 60, 0.2, what="report.txt ready")
        assert dav.request("GET", "report.txt").body == b"quarterly numbers"
        props = status(dav, "report.txt")
        assert props["processing-status"] == contract.READY
        rid = props["id"]
        wait_until(lambda: listener.of(contract.FILE_READY, rid), 30, what="file-ready on the bus")
        (finished,) = listener.of(contract.POSTPROCESSING_FINISHED, rid)
        (ready,) = listener.of(contract.FILE_READY, rid)
        assert finished["outcome"] == contract.READY and finished["path"] == "/report.txt"
        for event in (finished, ready):
            assert event["recipients"] == [admin_id(dep)] and event["event_id"] and event["time"] > 0
        assert finished["event_id"] != ready["event_id"]
        assert step_runs(dep) == 1
        metrics = dep.metrics("postprocessing")
        assert metric_value(metrics, "postprocessing_jobs_total", 'outcome="ready"') == 1
        assert metric_value(metrics, "postprocessing_queue_lag_seconds_count") == 1
    finally:
        listener.close()
