"""The steps a job runs, in order, and what they came to: a `Verdict` for `Processing.Complete`.

A step answers READY to let the next one run; anything else ends the job. A peer that
cannot be reached (antivirus, or clamd behind it) never yields "clean": the job goes
back to the queue without counting an attempt. A step's own error answer counts one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Histogram

from ocisd.api.antivirus.v1 import antivirus_pb2, antivirus_pb2_grpc
from ocisd.api.postprocessing.v1 import contract
from ocisd.api.storage.v1 import storage_pb2
from ocisd.rpc.client import RpcClients

# Worth another try later: the peer is down, restarting or busy; the file is not at fault.
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# The job's revision is no longer the file's current one, or the file is gone.
STALE = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND)
KIND_SCAN = "scan"


@dataclass(frozen=True)
class Verdict:
    outcome: storage_pb2.JobOutcome
    scan_status: str = ""
    scan_partial: bool = False
    downloadable: bool = False
    error: str = ""
    count_attempt: bool = False  # RETRY: the step failed, not its peer
    stale: bool = False  # nothing left to process: Complete READY, which storage refuses as stale


READY = Verdict(storage_pb2.JOB_OUTCOME_READY)


class Steps:
    def __init__(
        self, steps: list[str], rpc: RpcClients, delay: float, scan_timeout: float, metrics: CollectorRegistry
    ) -> None:
        self.steps = steps
        self._rpc = rpc
        self._delay = delay
        self._scan_timeout = scan_timeout
        self.seconds = Histogram(
            "postprocessing_step_seconds", "Duration of the steps run, by step.", ["step"], registry=metrics
        )

    def of(self, job: storage_pb2.Job) -> list[str]:
        """A manual scan only scans; an upload goes through the configured steps."""
        return [contract.STEP_VIRUSSCAN] if job.kind == KIND_SCAN else self.steps

    async def run(self, job: storage_pb2.Job) -> Verdict:
        verdict = READY
        for step in self.of(job):
            started = time.monotonic()
            answer = await (self._virusscan(job) if step == contract.STEP_VIRUSSCAN else self._wait())
            self.seconds.labels(step=step).observe(time.monotonic() - started)
            if answer.outcome != storage_pb2.JOB_OUTCOME_READY or answer.stale:
                return answer
            if answer.scan_status:
                verdict = replace(verdict, scan_status=answer.scan_status, scan_partial=answer.scan_partial)
        return verdict

    async def _wait(self) -> Verdict:
        await asyncio.sleep(self._delay)
        return READY

    async def _virusscan(self, job: storage_pb2.Job) -> Verdict:
        request = antivirus_pb2.ScanRequest(
            resource_id=job.resource_id, revision=job.revision, size=job.size, path=job.path
        )
        try:
            reply = await self._rpc.call(
                contract.ANTIVIRUS, antivirus_pb2_grpc.AntivirusStub, "Scan", request, timeout=self._scan_timeout
            )
        except grpc.aio.AioRpcError as exc:
            reason = f"antivirus: {exc.code().name.lower()}: {exc.details()}"
            if exc.code() in STALE:
                return replace(READY, stale=True, error=reason)
            retry = storage_pb2.JOB_OUTCOME_RETRY
            return Verdict(retry, error=reason, count_attempt=exc.code() not in UNREACHABLE)
        if reply.result == "clean":
            return replace(READY, scan_status="clean", scan_partial=reply.partial)
        if reply.result == "infected":
            return infected(job, reply)
        reason = reply.error if reply.result == "error" else f"unexpected scan result {reply.result!r}"
        return Verdict(storage_pb2.JOB_OUTCOME_RETRY, scan_status=f"error {reason}", error=reason, count_attempt=True)


def scan_id(job: storage_pb2.Job) -> str:
    """The scan's id as its API and GetScan name it ("<space_id>!<uuid>"), whether or not the job
    carries the space part."""
    return job.scan_id if "!" in job.scan_id else f"{job.space_id}!{job.scan_id}"


def infected(job: storage_pb2.Job, reply: antivirus_pb2.ScanResponse) -> Verdict:
    """By the antivirus instance's handling; a manual scan never removes a file, and an unknown
    handling keeps the revision but blocks it (the safe side)."""
    status = f"infected {reply.signature}".strip()
    if reply.infected_handling == "delete" and job.kind != KIND_SCAN:
        return Verdict(storage_pb2.JOB_OUTCOME_REMOVE, scan_status=status, scan_partial=reply.partial)
    return Verdict(
        storage_pb2.JOB_OUTCOME_INFECTED,
        scan_status=status,
        scan_partial=reply.partial,
        downloadable=reply.infected_handling == "continue",
    )
