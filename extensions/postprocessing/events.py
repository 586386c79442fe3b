"""The bus events an applied `Processing.Complete` announces (payloads: the contract's docstring).

Each carries a fresh `event_id` (SSE's `id:`), `time` and the `recipients` storage named.
A job put back in the queue announces nothing: its revision is still processing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from ocisd.api.postprocessing.v1 import contract
from ocisd.api.storage.v1 import storage_pb2

from .steps import KIND_SCAN, scan_id

Publish = Callable[[str, dict[str, Any]], None]
OUTCOMES: dict[int, str] = {
    storage_pb2.JOB_OUTCOME_READY: contract.READY,
    storage_pb2.JOB_OUTCOME_INFECTED: contract.INFECTED,
    storage_pb2.JOB_OUTCOME_REMOVE: "removed",
    storage_pb2.JOB_OUTCOME_FAILED: contract.ERROR,
}
FAILED_STATE = "failed"


def outcome_name(outcome: int, state: str) -> str:
    """What the job came to: a RETRY that exhausted its attempts ended in `error`; "" while queued."""
    if outcome == storage_pb2.JOB_OUTCOME_RETRY:
        return contract.ERROR if state == FAILED_STATE else ""
    return OUTCOMES.get(outcome, "")


def announce(
    publish: Publish,
    job: storage_pb2.Job,
    request: storage_pb2.CompleteJobRequest,
    reply: storage_pb2.CompleteJobResponse,
    scan: storage_pb2.ScanReport | None,
) -> None:
    outcome = outcome_name(request.outcome, reply.state)
    if not outcome:
        return
    info = reply.info
    where = {"resource_id": job.resource_id, "space_id": job.space_id, "path": info.path or job.path}
    scan_status = info.scan_status or request.scan_status

    def send(event: str, data: dict[str, Any]) -> None:
        stamp = {"event_id": uuid.uuid4().hex, "time": int(time.time()), "recipients": list(reply.recipients)}
        publish(event, {**where, **data, **stamp})

    if job.kind == KIND_SCAN:
        progress = {"done": scan.done, "total": scan.total} if scan is not None else {"done": 0, "total": 0}
        send(
            contract.SCAN_FINISHED,
            {"scan_id": scan_id(job), "scan_status": scan_status, "scan_time": info.scan_time, **progress},
        )
        return
    # Why the file is not (or no longer) downloadable, for the user.
    reason = request.error if outcome == contract.ERROR else "" if outcome == contract.READY else scan_status
    send(contract.POSTPROCESSING_FINISHED, {"outcome": outcome, "scan_status": scan_status, "reason": reason})
    if request.outcome == storage_pb2.JOB_OUTCOME_READY or (
        request.outcome == storage_pb2.JOB_OUTCOME_INFECTED and request.downloadable
    ):
        send(contract.FILE_READY, {})
