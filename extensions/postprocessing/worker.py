"""Lease jobs from every storage-users instance, run their steps, complete them.

The queue lives with each provider (`ocisd.storage.v1.Processing`); the bus bell
(`processing-queued`) and the poll interval only say when to ask. A worker holds at
most `concurrency` jobs, renews their leases every third of the lease time and
completes each at the provider it came from. A job whose lease is lost (this process
stalled, or was SIGKILLed) goes to another worker when the lease runs out; storage
refuses a Complete that comes too late, so a revision is completed once.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from prometheus_client import Counter, Histogram

from ocisd import authz, identity
from ocisd.api.storage.v1 import storage_pb2, storage_pb2_grpc
from ocisd.extension import Context
from ocisd.rpc.client import Target

from . import events
from .steps import KIND_SCAN, UNREACHABLE, Steps, Verdict, scan_id

PROVIDERS = "storage-users"
FIRST_BACKOFF = 1.0
COMPLETE_TRIES = 3  # a provider restarting meanwhile: else the lease runs out and the job is redone


@dataclass
class Held:
    target: Target
    job: storage_pb2.Job
    task: asyncio.Task[None] | None = None
    completing: bool = False  # past the steps: a lost lease no longer cancels it


@dataclass
class Backoff:
    """Consecutive failures of one peer (or one job's unreachable peer): 1, 2, 4 ... up to `cap` s."""

    cap: float
    failures: dict[str, int] = field(default_factory=dict)

    def delay(self, key: str) -> float:
        return min(FIRST_BACKOFF * 2 ** self.failures.get(key, 0), self.cap)

    def failed(self, key: str) -> float:
        delay = self.delay(key)
        self.failures[key] = self.failures.get(key, 0) + 1
        return delay

    def ok(self, key: str) -> None:
        self.failures.pop(key, None)


class Worker:
    def __init__(self, ctx: Context, steps: Steps) -> None:
        cfg = ctx.config
        self._ctx = ctx
        self._log = ctx.log
        self._steps = steps
        self.id = f"{ctx.name}-{uuid.uuid4().hex[:12]}"
        self._lease = max(1, math.ceil(float(cfg.lease_time)))
        self._poll = float(cfg.poll_interval)
        self._concurrency = int(cfg.concurrency)
        self._max_attempts = int(cfg.max_attempts)
        self._token = identity.ServiceToken(ctx.shared.jwt_secret, ctx.name)
        self._held: dict[tuple[str, str], Held] = {}  # (provider address, job id)
        self._peers = Backoff(float(cfg.retry_max_delay))
        self._peer_until: dict[str, float] = {}
        self._unreachable = Backoff(float(cfg.retry_max_delay))  # by job: its step's peer is down
        self._wake = asyncio.Event()
        self._more = False  # the last claim filled every free slot: ask again when one frees
        self.stopping = False
        self.jobs = Counter("postprocessing_jobs", "Jobs completed, by outcome.", ["outcome"], registry=ctx.metrics)
        self.lag = Histogram(
            "postprocessing_queue_lag_seconds",
            "From a job becoming due to its claim.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=ctx.metrics,
        )

    def ring(self) -> None:
        """The bell: a provider queued something."""
        self._wake.set()

    def _as_service(self) -> authz.acting_as:
        return authz.acting_as(self._token.get())

    async def _call(
        self, target: Target, method: str, request: object, stub: type = storage_pb2_grpc.ProcessingStub
    ) -> Any:
        with self._as_service():
            return await self._ctx.rpc.call(PROVIDERS, stub, method, request, targets=[target])

    async def claim_loop(self) -> None:
        while True:  # while stopping it claims nothing (`_claim_everywhere`) but lives on: its end is a failure
            self._wake.clear()
            await self._claim_everywhere()
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except TimeoutError:
                pass

    async def _claim_everywhere(self) -> None:
        self._more = False
        now = time.monotonic()
        for target in self._ctx.rpc.targets(PROVIDERS):
            free = self._concurrency - len(self._held)
            if free <= 0 or self.stopping:
                self._more = True
                return
            addr = target[0]
            if self._peer_until.get(addr, 0.0) > now:
                continue
            request = storage_pb2.ClaimJobsRequest(worker=self.id, limit=free, lease_seconds=self._lease)
            try:
                reply = await self._call(target, "Claim", request)
            except grpc.aio.AioRpcError as exc:
                delay = self._peers.failed(addr)
                self._peer_until[addr] = time.monotonic() + delay
                self._log.warning("claim failed", provider=addr, error=exc.details(), retry_in=delay)
                continue
            self._peers.ok(addr)
            for job in reply.jobs:
                self._start(target, job)
            self._more = self._more or len(reply.jobs) >= free

    def _start(self, target: Target, job: storage_pb2.Job) -> None:
        key = (target[0], job.id)
        if key in self._held:  # claimed again while still held here: our own renewal covers it
            return
        self.lag.observe(max(0.0, time.time() - max(job.created, job.not_before)))
        held = self._held[key] = Held(target, job)
        held.task = asyncio.get_running_loop().create_task(self._work(key, held), name=f"job:{job.id}")

    async def _work(self, key: tuple[str, str], held: Held) -> None:
        job = held.job
        try:
            with self._as_service():  # a step's calls (Antivirus.Scan) are postprocessing's own
                verdict = await self._steps.run(job)
            held.completing = True
            await self._complete(held, verdict)
        except asyncio.CancelledError:
            self._log.info("job given up", job=job.id, path=job.path)
        except Exception:  # a bug here must not stop the other jobs; the lease runs out
            self._log.error("job failed", job=job.id, path=job.path, exc_info=True)
        finally:
            self._held.pop(key, None)
            if self._more and not self.stopping:
                self._wake.set()

    def _request(self, held: Held, verdict: Verdict) -> storage_pb2.CompleteJobRequest:
        job, key = held.job, f"{held.target[0]}/{held.job.id}"
        request = storage_pb2.CompleteJobRequest(
            job_id=job.id,
            worker=self.id,
            outcome=verdict.outcome,
            scan_status=verdict.scan_status,
            scan_partial=verdict.scan_partial,
            downloadable=verdict.downloadable,
            error=verdict.error,
        )
        if verdict.outcome == storage_pb2.JOB_OUTCOME_RETRY:
            request.count_attempt = verdict.count_attempt
            request.max_attempts = self._max_attempts
            backoff = (
                self._unreachable.failed(key)
                if not verdict.count_attempt
                else min(FIRST_BACKOFF * 2**job.attempts, self._peers.cap)
            )
            request.retry_after_seconds = math.ceil(backoff)
        else:
            self._unreachable.ok(key)
        return request

    async def _complete(self, held: Held, verdict: Verdict) -> None:
        job = held.job
        request = self._request(held, verdict)
        for attempt in range(COMPLETE_TRIES):
            try:
                reply = await self._call(held.target, "Complete", request)
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in UNREACHABLE or attempt == COMPLETE_TRIES - 1:
                    self._log.warning("complete failed", job=job.id, error=exc.details())
                    return
                await asyncio.sleep(FIRST_BACKOFF * 2**attempt)
        if not reply.applied:
            self.jobs.labels(outcome="stale").inc()
            self._log.info("job was stale", job=job.id, path=job.path, reason=verdict.error)
            return
        outcome = events.outcome_name(request.outcome, reply.state) or "retry"
        self.jobs.labels(outcome=outcome).inc()
        self._log.info(
            "job completed",
            job=job.id,
            kind=job.kind,
            path=job.path,
            outcome=outcome,
            state=reply.state,
            error=verdict.error,
        )
        scan = await self._scan_report(held) if job.kind == KIND_SCAN else None
        events.announce(self._ctx.bus.publish_event, job, request, reply, scan)

    async def _scan_report(self, held: Held) -> storage_pb2.ScanReport | None:
        """The scan's progress for `scan-finished`; without it the event still says the file's result."""
        job = held.job
        request = storage_pb2.GetScanRequest(ref=storage_pb2.Reference(space_id=job.space_id), scan_id=scan_id(job))
        try:
            report: storage_pb2.ScanReport = await self._call(
                held.target, "GetScan", request, storage_pb2_grpc.StorageStub
            )
        except grpc.aio.AioRpcError as exc:
            self._log.warning("scan progress unavailable", scan=job.scan_id, error=exc.details())
            return None
        return report

    async def renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            by_target: dict[Target, list[str]] = {}
            for held in list(self._held.values()):
                by_target.setdefault(held.target, []).append(held.job.id)
            for target, ids in by_target.items():
                request = storage_pb2.RenewJobsRequest(worker=self.id, job_ids=ids, lease_seconds=self._lease)
                try:
                    reply = await self._call(target, "Renew", request)
                except grpc.aio.AioRpcError as exc:
                    self._log.warning("lease renewal failed", provider=target[0], error=exc.details())
                    continue
                for job_id in set(ids) - set(reply.job_ids):
                    lost = self._held.get((target[0], job_id))
                    if lost is not None and not lost.completing and lost.task is not None:
                        self._log.warning("lease lost", job=job_id, path=lost.job.path)
                        lost.task.cancel()

    async def drain(self) -> None:
        """Graceful stop: claim nothing more; let the running jobs finish (the caller bounds the wait)."""
        self.stopping = True
        self._wake.set()
        tasks = [h.task for h in self._held.values() if h.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def cancel(self) -> None:
        for held in list(self._held.values()):
            if held.task is not None:
                held.task.cancel()
