"""A step that keeps failing (clamd refusing a stream over its StreamMaxLength, a real clamd) ends
in `error` after POSTPROCESSING_MAX_ATTEMPTS; `ocis postprocessing list --failed` names it and
`ocis postprocessing retry` re-queues it: with the cause fixed it ends ready."""

from __future__ import annotations

import json

import pytest

from ocisd.api.postprocessing.v1 import contract
from tests.support import webdav_stack
from tests.support.clamd import running_clamd
from tests.support.harness import Deployment, metric_value, wait_until

from .flow import STACK, Listener, admin_id, list_jobs, status, wait_processing_status

pytestmark = [
    pytest.mark.tools("clamd"),
    pytest.mark.skipif(not webdav_stack.front_door_installed(), reason="needs the proxy"),
]
BIG = b"\0" * 200_000  # over the 64K clamd takes here: clamd answers "size limit exceeded"


def test_failing_step_errors_then_list_and_retry(dep: Deployment) -> None:
    with running_clamd(stream_max_length="64K") as clamd:
        env = {
            "ANTIVIRUS_CLAMAV_SOCKET": clamd.address,
            "POSTPROCESSING_MAX_ATTEMPTS": "2",
            "POSTPROCESSING_RETRY_MAX_DELAY": "1s",
            "POSTPROCESSING_POLL_INTERVAL": "1s",
            "PROXY_ACCESS_LOG": "false",
        }
        # POSTPROCESSING_STEPS stays `auto`: antivirus is selected, so storage and postprocessing scan.
        dep.start_runtime(STACK + ",antivirus", env=env)
        dav = webdav_stack.connect(dep, proxied=True)
        listener = Listener(dep)
        try:
            assert dav.request("PUT", "small.txt", b"fits").status == 201
            assert dav.request("PUT", "big.bin", BIG).status == 201
            wait_processing_status(dav, "small.txt", contract.READY)
            assert status(dav, "small.txt")["scan-status"] == "clean"
            wait_processing_status(dav, "big.bin", contract.ERROR)
            assert dav.request("GET", "big.bin").status == 403
            rid = status(dav, "big.bin")["id"]
            wait_until(lambda: listener.of(contract.POSTPROCESSING_FINISHED, rid), 30, what="the error event")
            (failed_event,) = listener.of(contract.POSTPROCESSING_FINISHED, rid)
            assert failed_event["outcome"] == contract.ERROR and "size limit" in failed_event["reason"]
            assert failed_event["recipients"] == [admin_id(dep)]

            listed = dep.ocis("postprocessing", "list", "--failed", "--json")
            assert listed.returncode == 0, listed.stderr
            (job,) = json.loads(listed.stdout)
            assert (job["path"], job["state"], job["attempts"]) == ("/big.bin", "failed", 2)
            assert "size limit" in job["last_error"]
            table = dep.ocis("postprocessing", "list")
            assert table.returncode == 0 and "/big.bin" in table.stdout and "failed" in table.stdout
            refused = dep.ocis("postprocessing", "retry", "999999")
            assert refused.returncode == 1 and "no failed job 999999" in refused.stderr
            # Ids name their space, so another instance's job of the same number is never taken for this one.
            space, _, number = job["id"].rpartition("!")
            assert space == job["space_id"] and number.isdigit()
            elsewhere = dep.ocis("postprocessing", "retry", f"another-space!{number}")
            assert elsewhere.returncode == 1 and f"no failed job another-space!{number}" in elsewhere.stderr

            clamd.stop()  # the cause fixed: clamd takes the whole stream now
            clamd.conf.write_text(clamd.conf.read_text().replace("StreamMaxLength 64K", "StreamMaxLength 100M"))
            clamd.start()
            retried = dep.ocis("postprocessing", "retry", job["id"])
            assert retried.returncode == 0 and "re-queued 1 job" in retried.stdout, retried.stderr
            wait_until(lambda: dav.request("GET", "big.bin").status == 200, 90, 0.25, what="big.bin ready")
            assert status(dav, "big.bin")["scan-status"] == "clean"
            assert list_jobs(dep, failed_only=True) == []
            wait_until(lambda: listener.of(contract.FILE_READY, rid), 30, what="file-ready after the retry")
        finally:
            listener.close()


def test_clamd_down_holds_the_file_without_counting_attempts(dep: Deployment) -> None:
    with running_clamd() as clamd:
        clamd.stop()
        env = {
            "ANTIVIRUS_CLAMAV_SOCKET": clamd.address,
            "POSTPROCESSING_MAX_ATTEMPTS": "1",  # one counted failure would end it in `error`
            "POSTPROCESSING_RETRY_MAX_DELAY": "1s",
            "PROXY_ACCESS_LOG": "false",
        }
        dep.start_runtime(STACK + ",antivirus", env=env)
        dav = webdav_stack.connect(dep, proxied=True)
        assert dav.request("PUT", "later.txt", b"scanned once clamd is back").status == 201

        def unavailable() -> float:
            return metric_value(dep.metrics("antivirus"), "antivirus_scans_total", 'result="unavailable"')

        wait_until(lambda: unavailable() >= 3, 60, 0.2, what="three scans refused for an unreachable clamd")
        (job,) = list_jobs(dep)
        assert job.state in ("queued", "leased") and job.attempts == 0 and "unavailable" in job.last_error
        assert status(dav, "later.txt")["processing-status"] == contract.PROCESSING
        assert dav.request("GET", "later.txt").status == 425
        clamd.start()
        wait_until(lambda: dav.request("GET", "later.txt").status == 200, 90, 0.25, what="later.txt ready")
        assert status(dav, "later.txt")["scan-status"] == "clean"
