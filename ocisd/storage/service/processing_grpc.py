"""The Processing service: the provider's durable postprocessing queue, for service identities only.

Workers (postprocessing instances) call each storage instance directly: Claim leases
due jobs, Renew extends leases, Complete applies an outcome (see `local.outcomes`),
ListJobs and RetryJobs serve `ocis postprocessing list|retry`.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc.aio

from ocisd import authz
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import external_id, handled
from ocisd.storage.driver import Base
from ocisd.storage.resources import Job, Outcome

from .info import resource_info

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
MAX_CLAIM = 100
MAX_LEASE = 3600
MAX_TEXT = 1000  # scan_status and error: a signature name or a message, never a document
SCAN_WORDS = ("clean", "infected", "error")
OUTCOMES = {
    pb.JOB_OUTCOME_READY: "ready",
    pb.JOB_OUTCOME_INFECTED: "infected",
    pb.JOB_OUTCOME_REMOVE: "remove",
    pb.JOB_OUTCOME_RETRY: "retry",
    pb.JOB_OUTCOME_FAILED: "failed",
}


def _parse_job_id(text: str) -> tuple[str, int] | None:
    """`<space_id>!<n>`: the space names the instance (spaces are split between instances), so an
    id another storage-users instance handed out never matches a job here."""
    space, sep, number = text.rpartition("!")
    return (space, int(number)) if sep and space and number.isdigit() else None


def _job_id(text: str) -> int:
    parsed = _parse_job_id(text)
    if parsed is None:
        raise errors.invalid("bad-job-id", f"malformed job id {text!r}")
    return parsed[1]


def _wire_id(job: Job) -> str:
    return f"{job.space}!{job.id}"


def _worker(worker: str) -> str:
    if not worker or len(worker) > 200:
        raise errors.invalid("bad-worker", "worker must name the calling worker (1 to 200 characters)")
    return worker


def _scan_status(text: str) -> str:
    """ "" (unchanged), "clean", "infected <signature>" or "error <reason>", printable and short."""
    word, _, rest = text.partition(" ")
    if text and (word not in SCAN_WORDS or (word != "clean") != bool(rest) or not text.isprintable()):
        raise errors.invalid("bad-scan-status", "scan_status must be clean, infected <signature> or error <reason>")
    if len(text) > MAX_TEXT:
        raise errors.invalid("bad-scan-status", f"scan_status longer than {MAX_TEXT} characters")
    return text


def _lease(seconds: int) -> float:
    if not 0 < seconds <= MAX_LEASE:
        raise errors.invalid("bad-lease", f"lease_seconds must be 1 to {MAX_LEASE}")
    return float(seconds)


class ProcessingService(pb_grpc.ProcessingServicer):
    def __init__(self, driver: Base) -> None:
        self._driver = driver

    async def _owner(self, space_id: str) -> str:
        space = await self._driver.space(space_id)
        return space.owner if space else ""

    async def _message(self, job: Job) -> pb.Job:
        return pb.Job(
            id=_wire_id(job),
            kind=job.kind,
            resource_id=external_id(job.space, job.node),
            space_id=job.space,
            path=job.path,
            revision=job.rev,
            size=job.size,
            mime_type=job.mime,
            owner_id=await self._owner(job.space),
            uploader_id=job.uploader,
            scan_id=external_id(job.space, job.scan_id) if job.scan_id else "",
            attempts=job.attempts,
            state=job.state,
            last_error=job.last_error,
            created=int(job.created),
            not_before=int(job.not_before),
            worker=job.worker,
            lease_until=int(job.lease_until),
        )

    @handled
    async def Claim(self, request: pb.ClaimJobsRequest, context: Ctx) -> pb.ClaimJobsResponse:
        await authz.require_service(context)
        limit = min(max(request.limit, 1), MAX_CLAIM)
        found = await self._driver.claim_jobs(_worker(request.worker), limit, _lease(request.lease_seconds))
        return pb.ClaimJobsResponse(jobs=[await self._message(j) for j in found])

    @handled
    async def Renew(self, request: pb.RenewJobsRequest, context: Ctx) -> pb.RenewJobsResponse:
        await authz.require_service(context)
        ids = [_job_id(i) for i in request.job_ids]
        held = set(await self._driver.renew_jobs(_worker(request.worker), ids, _lease(request.lease_seconds)))
        return pb.RenewJobsResponse(job_ids=[i for i in request.job_ids if _job_id(i) in held])

    @handled
    async def Complete(self, request: pb.CompleteJobRequest, context: Ctx) -> pb.CompleteJobResponse:
        await authz.require_service(context)
        kind = OUTCOMES.get(request.outcome)
        if kind is None:
            raise errors.invalid("bad-outcome", "outcome must be one of READY, INFECTED, REMOVE, RETRY, FAILED")
        if request.retry_after_seconds < 0 or request.max_attempts < 0:
            raise errors.invalid("bad-outcome", "retry_after_seconds and max_attempts must not be negative")
        if len(request.error) > MAX_TEXT:
            raise errors.invalid("bad-error", f"error longer than {MAX_TEXT} characters")
        outcome = Outcome(
            kind,
            scan_status=_scan_status(request.scan_status),
            scan_partial=request.scan_partial,
            downloadable=request.downloadable,
            error=request.error,
            retry_after=float(request.retry_after_seconds),
            count_attempt=request.count_attempt,
            max_attempts=request.max_attempts,
        )
        done = await self._driver.complete_job(_job_id(request.job_id), _worker(request.worker), outcome)
        reply = pb.CompleteJobResponse(applied=done.applied, state=done.state, recipients=list(done.recipients))
        if done.node is not None:
            reply.info.CopyFrom(resource_info(done.node, await self._owner(done.node.space)))
        return reply

    @handled
    async def ListJobs(self, request: pb.ListJobsRequest, context: Ctx) -> pb.ListJobsResponse:
        await authz.require_service(context)
        found = await self._driver.list_jobs(request.failed_only)
        return pb.ListJobsResponse(jobs=[await self._message(j) for j in found])

    @handled
    async def RetryJobs(self, request: pb.RetryJobsRequest, context: Ctx) -> pb.RetryJobsResponse:
        await authz.require_service(context)
        if request.all_failed == bool(request.job_ids):
            raise errors.invalid("bad-request", "name job_ids or all_failed, one of them")
        ids = None
        if not request.all_failed:
            # Ids of other instances, and malformed ones, match nothing here (the answer leaves them out).
            wanted = {_parse_job_id(i) for i in request.job_ids}
            ids = [j.id for j in await self._driver.list_jobs(True) if (j.space, j.id) in wanted]
        again = await self._driver.retry_jobs(ids)
        return pb.RetryJobsResponse(job_ids=[_wire_id(j) for j in again])
