"""The postprocessing queue of storage-users with real processes (bus, storage-users, gateway):
outcomes, attempts, stale completions, revision reads, SIGKILL, manual scans. The test is the worker
(storage-users' Processing service with a service token, as postprocessing calls it)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from extensions.storage_users.config import StorageUsersConfig
from ocisd import authz, identity
from ocisd.api.postprocessing.v1.contract import PROCESSING_QUEUED
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref
from tests.support.harness import deployment, wait_until
from tests.support.processing import Worker
from tests.support.storage_stack import ALICE, BOB, Stack, http, reason, ref, running_stack, start_storage


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack({"POSTPROCESSING_STEPS": "delay"}) as s:
        yield s


def take(worker: Worker, *paths: str) -> list[pb.Job]:
    """Claim until the jobs of exactly these paths are held (bounded), in the order named."""
    held: dict[str, pb.Job] = {}

    def more() -> bool:
        held.update((j.path, j) for j in worker.claim(limit=100) if j.path in paths)
        return len(held) == len(paths)

    wait_until(more, 30, what=f"jobs of {paths}")
    return [held[p] for p in paths]


def refused(stack: Stack, path: str) -> str:
    with pytest.raises(grpc.RpcError) as exc:
        stack.download(path)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return reason(exc.value)


def used(stack: Stack) -> int:
    return int(stack.call("GetQuota", pb.GetQuotaRequest(ref=ref("/"))).used)


def test_remove_brings_the_previous_revision_back_or_drops_a_new_file(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/r.txt", b"clean one").status == 201
    assert worker.complete(take(worker, "/r.txt")[0], pb.JOB_OUTCOME_READY, scan_status="clean").applied
    before = used(stack)
    assert stack.upload("/r.txt", b"infected, longer").status == 200
    assert used(stack) == before + 7
    job = take(worker, "/r.txt")[0]
    done = worker.complete(job, pb.JOB_OUTCOME_REMOVE, scan_status="infected Eicar-Test-Signature")
    assert done.applied and done.state == "done" and done.info.processing_status == "ready"
    assert stack.download("/r.txt").body == b"clean one" and used(stack) == before
    listed = stack.call("ListFileVersions", pb.ListFileVersionsRequest(ref=ref("/r.txt")))
    assert list(listed.versions) == []  # the restored revision is current, not also a version

    assert stack.upload("/new.txt", b"bad").status == 201
    gone = worker.complete(take(worker, "/new.txt")[0], pb.JOB_OUTCOME_REMOVE)
    assert gone.applied and not gone.HasField("info") and ALICE.user_id in gone.recipients
    with pytest.raises(grpc.RpcError) as missing:
        stack.stat("/new.txt")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    recycle = stack.call("ListTrash", pb.ListTrashRequest(ref=ref("/")))
    assert "/new.txt" not in [i.original_path for i in recycle.items]  # for good, not to the trash bin
    assert used(stack) == before


def test_infected_is_blocked_unless_downloadable(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/abort.bin", b"x").status == 201 and stack.upload("/continue.bin", b"y").status == 201
    assert refused(stack, "/abort.bin") == "processing"
    abort, cont = take(worker, "/abort.bin", "/continue.bin")
    worker.complete(abort, pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar", downloadable=False)
    worker.complete(cont, pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar", downloadable=True)
    assert refused(stack, "/abort.bin") == "blocked"
    assert stack.download("/continue.bin").body == b"y"
    info = stack.stat("/abort.bin")
    assert (info.processing_status, info.scan_status) == ("infected", "infected Eicar") and info.scan_time > 0


def test_retries_count_up_to_failed_then_retry_jobs_requeues(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/flaky.bin", b"z").status == 201
    job = take(worker, "/flaky.bin")[0]
    again = worker.complete(job, pb.JOB_OUTCOME_RETRY, error="clamd unreachable", retry_after_seconds=1)
    assert again.applied and again.state == "queued"
    assert "/flaky.bin" not in [j.path for j in worker.claim(limit=100)]  # backoff: not due yet
    job = take(worker, "/flaky.bin")[0]  # due after it
    assert job.attempts == 0 and job.last_error == "clamd unreachable"
    kw = {"error": "scan error", "count_attempt": True, "max_attempts": 2}
    assert worker.complete(job, pb.JOB_OUTCOME_RETRY, **kw).state == "queued"
    job = take(worker, "/flaky.bin")[0]
    assert job.attempts == 1
    assert worker.complete(job, pb.JOB_OUTCOME_RETRY, **kw).state == "failed"
    assert stack.stat("/flaky.bin").processing_status == "error" and refused(stack, "/flaky.bin") == "blocked"
    failed = worker.call("ListJobs", pb.ListJobsRequest(failed_only=True)).jobs
    assert [(j.path, j.state, j.attempts, j.last_error) for j in failed] == [("/flaky.bin", "failed", 2, "scan error")]
    assert "/flaky.bin" not in [j.path for j in worker.claim(limit=100)]
    requeued = worker.call("RetryJobs", pb.RetryJobsRequest(all_failed=True)).job_ids
    assert list(requeued) == [failed[0].id]
    assert stack.stat("/flaky.bin").processing_status == "processing"
    job = take(worker, "/flaky.bin")[0]
    assert job.attempts == 0 and worker.complete(job, pb.JOB_OUTCOME_READY).applied
    assert stack.download("/flaky.bin").body == b"z"
    with pytest.raises(grpc.RpcError) as bad:
        worker.call("RetryJobs", pb.RetryJobsRequest())
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_superseded_revision_completes_stale_and_steps_read_their_revision(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/s.txt", b"one").status == 201
    old = take(worker, "/s.txt")[0]
    read = pb.InitiateFileDownloadRequest(ref=pb.Reference(node_id=old.resource_id), revision=old.revision)
    url = worker.call("InitiateFileDownload", read, service="Storage").download_url
    assert http("GET", url).body == b"one"  # the step reads the held revision
    with pytest.raises(grpc.RpcError) as users_cannot:
        stack.call("InitiateFileDownload", read)
    assert users_cannot.value.code() == grpc.StatusCode.PERMISSION_DENIED

    assert stack.upload("/s.txt", b"two").status == 200
    assert http("GET", url).status == 412  # the signed URL names a revision no longer current
    with pytest.raises(grpc.RpcError) as superseded:
        worker.call("InitiateFileDownload", read, service="Storage")
    assert reason(superseded.value) == "etag-mismatch"
    late = worker.complete(old, pb.JOB_OUTCOME_READY)
    assert not late.applied and stack.stat("/s.txt").processing_status == "processing"
    new = take(worker, "/s.txt")[0]
    assert new.revision != old.revision and worker.complete(new, pb.JOB_OUTCOME_READY).applied
    assert stack.download("/s.txt").body == b"two"


def test_jobs_survive_sigkill_of_storage_users(stack: Stack) -> None:
    for name in ("k1", "k2", "k3"):
        assert stack.upload(f"/{name}.txt", name.encode()).status == 201
    stack.storage.kill()  # SIGKILL
    stack.storage = start_storage(stack.dep, stack.storage_env)
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway reaches the restarted storage")
    worker = Worker(stack.dep)
    for job in take(worker, "/k1.txt", "/k2.txt", "/k3.txt"):
        assert worker.complete(job, pb.JOB_OUTCOME_READY).applied
    assert stack.download("/k2.txt").body == b"k2"


def test_manual_scans(stack: Stack) -> None:
    worker = Worker(stack.dep)
    stack.mkdir("/scan")
    stack.mkdir("/scan/sub")
    for path in ("/scan/a.txt", "/scan/sub/b.txt", "/scan/eicar.com"):
        assert stack.upload(path, b"data").status == 201
    for job in take(worker, "/scan/a.txt", "/scan/sub/b.txt", "/scan/eicar.com"):
        worker.complete(job, pb.JOB_OUTCOME_READY, scan_status="clean")
    report = stack.call("CreateScan", pb.CreateScanRequest(ref=ref("/scan")))
    assert report.id.startswith(f"{ALICE.user_id}!") and (report.total, report.done) == (3, 0)
    assert report.creator_id == ALICE.user_id and report.path == "/scan"
    assert stack.stat("/scan/a.txt").scan_status == "pending"
    assert stack.download("/scan/a.txt").body == b"data"  # a scan never holds the file

    get = pb.GetScanRequest(ref=pb.Reference(space_id=ALICE.user_id), scan_id=report.id)
    with pytest.raises(grpc.RpcError) as hidden:
        stack.call("GetScan", get, BOB)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as not_his:
        stack.call("CreateScan", pb.CreateScanRequest(ref=pb.Reference(node_id=stack.stat("/scan").id)), BOB)
    assert not_his.value.code() == grpc.StatusCode.NOT_FOUND

    jobs = take(worker, "/scan/a.txt", "/scan/sub/b.txt", "/scan/eicar.com")
    assert {j.kind for j in jobs} == {"scan"} and {j.scan_id for j in jobs} == {report.id}
    with pytest.raises(grpc.RpcError) as no_remove:
        worker.complete(jobs[0], pb.JOB_OUTCOME_REMOVE)
    assert no_remove.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    worker.complete(jobs[0], pb.JOB_OUTCOME_READY, scan_status="clean")
    worker.complete(jobs[1], pb.JOB_OUTCOME_READY, scan_status="clean", scan_partial=True)
    infected = worker.complete(jobs[2], pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar")
    assert infected.info.processing_status == "infected"
    done = stack.call("GetScan", get)
    assert (done.total, done.done, done.infected, done.errors) == (3, 3, 1, 0)
    assert [(r.path, r.scan_status) for r in done.results] == [
        ("/scan/a.txt", "clean"),
        ("/scan/eicar.com", "infected Eicar"),
        ("/scan/sub/b.txt", "clean"),
    ]
    assert stack.stat("/scan/sub/b.txt").scan_partial and refused(stack, "/scan/eicar.com") == "blocked"
    assert worker.call("GetScan", get, service="Storage").done == 3  # services see every scan


def test_a_new_job_rings_the_bell(stack: Stack) -> None:
    shared = loader.load(None, None, installed(), stack.dep.env).shared
    paths: list[str] = []

    async def run() -> list[dict[str, Any]]:
        listener = BusClient(shared, CollectorRegistry())
        heard: list[dict[str, Any]] = []
        listener.subscribe(f"event.{PROCESSING_QUEUED}", lambda m: heard.append(m.data))
        listener.start()
        try:
            # The first bells may ring before the subscription reached the broker: upload until heard.
            while not heard and len(paths) < 50:
                paths.append(f"/bell-{len(paths)}.txt")
                await asyncio.to_thread(stack.upload, paths[-1], b"ding")
                await asyncio.sleep(0.1)
            return heard
        finally:
            await listener.close()

    heard = asyncio.run(asyncio.wait_for(run(), 60))
    assert heard and heard[0]["provider"] == StorageUsersConfig().provider_id
    worker = Worker(stack.dep)
    for job in take(worker, *paths):
        assert worker.complete(job, pb.JOB_OUTCOME_READY).applied


def test_a_database_from_before_gets_the_columns_and_its_files_are_ready(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "metadata.db")
    old.executescript(
        """CREATE TABLE spaces(id TEXT PRIMARY KEY, owner TEXT NOT NULL, quota INTEGER NOT NULL,
             created INTEGER NOT NULL);
           CREATE TABLE nodes(id TEXT PRIMARY KEY, space TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
             type INTEGER NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, etag TEXT NOT NULL,
             rev TEXT NOT NULL DEFAULT '', sha1 TEXT NOT NULL DEFAULT '', md5 TEXT NOT NULL DEFAULT '',
             adler32 TEXT NOT NULL DEFAULT '', mime TEXT NOT NULL DEFAULT '', props TEXT);
           INSERT INTO spaces VALUES('s', 'u', -1, 0);
           INSERT INTO nodes(id, space, parent, name, type, size, mtime, etag)
             VALUES('s', 's', NULL, '', 2, 0, 0, 'e'), ('f', 's', 's', 'a', 1, 0, 0, 'e');"""
    )
    old.close()

    async def run() -> tuple[str, bool]:
        driver = LocalDriver(StorageUsersConfig(), tmp_path)
        await driver.open()
        try:
            node = await driver.stat(Ref(space="s", path="/a"))
            return node.status, node.downloadable
        finally:
            await driver.close()

    assert asyncio.run(run()) == ("ready", True)


def test_storage_system_never_holds_a_revision() -> None:
    with deployment() as dep:
        dep.start_extension("bus")
        dep.start_extension("storage-system", env={"POSTPROCESSING_STEPS": "delay"})
        shared = loader.load(None, None, installed(), dep.env).shared
        token = identity.mint(shared.jwt_secret, authz.system_identity(shared), ttl=600)
        with grpc.insecure_channel(dep.addr("storage-system", "grpc_addr")) as channel:
            storage = pb_grpc.StorageStub(channel)
            meta = [(identity.GRPC_METADATA, token)]
            init = storage.InitiateUpload(pb.InitiateUploadRequest(ref=ref("/cfg.json"), size=2), metadata=meta)
            assert http("PUT", init.upload_url, b"{}").status == 201
            down = storage.InitiateFileDownload(pb.InitiateFileDownloadRequest(ref=ref("/cfg.json")), metadata=meta)
        assert down.info.processing_status == "ready" and http("GET", down.download_url).body == b"{}"


def test_trash_and_version_restores_keep_the_state_and_the_job(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/t.txt", b"held").status == 201
    stack.call("Delete", pb.DeleteRequest(ref=ref("/t.txt")))
    assert "/t.txt" not in [j.path for j in worker.claim(limit=100)]  # trashed: it waits
    key = next(i.key for i in stack.call("ListTrash", pb.ListTrashRequest()).items if i.original_path == "/t.txt")
    stack.call("RestoreTrashItem", pb.RestoreTrashItemRequest(key=key, destination=ref("/t.txt")))
    assert stack.stat("/t.txt").processing_status == "processing"
    assert worker.complete(take(worker, "/t.txt")[0], pb.JOB_OUTCOME_READY).applied

    assert stack.upload("/t.txt", b"newer").status == 200
    version = stack.call("ListFileVersions", pb.ListFileVersionsRequest(ref=ref("/t.txt"))).versions[0]
    restored = stack.call("RestoreFileVersion", pb.RestoreFileVersionRequest(ref=ref("/t.txt"), key=version.key))
    assert restored.info.processing_status == "processing"  # kept, and its job follows the new revision
    job = take(worker, "/t.txt")[0]
    assert worker.complete(job, pb.JOB_OUTCOME_READY).applied and stack.download("/t.txt").body == b"held"

    assert stack.upload("/p.txt", b"purged").status == 201
    stack.call("Delete", pb.DeleteRequest(ref=ref("/p.txt")))
    key = next(i.key for i in stack.call("ListTrash", pb.ListTrashRequest()).items if i.original_path == "/p.txt")
    stack.call("PurgeTrash", pb.PurgeTrashRequest(key=key))
    assert "/p.txt" not in [j.path for j in worker.call("ListJobs", pb.ListJobsRequest()).jobs]


def test_concurrent_workers_never_share_a_job(stack: Stack) -> None:
    paths = [f"/c{i}.txt" for i in range(20)]
    for path in paths:
        assert stack.upload(path, b"c").status == 201
    workers = [Worker(stack.dep, f"w{i}") for i in range(4)]
    held: list[list[pb.Job]] = [[] for _ in workers]

    def drain(i: int) -> None:
        while batch := [j for j in workers[i].claim(limit=3) if j.path in paths]:
            held[i] += batch

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [j.id for jobs in held for j in jobs]
    assert sorted(j.path for jobs in held for j in jobs) == sorted(paths) and len(set(ids)) == len(ids)
    for worker, jobs in zip(workers, held, strict=True):
        for job in jobs:
            assert worker.complete(job, pb.JOB_OUTCOME_READY).applied


def test_a_workers_bad_input_is_refused_and_changes_nothing(stack: Stack) -> None:
    worker = Worker(stack.dep)
    assert stack.upload("/bad.txt", b"b").status == 201
    job = take(worker, "/bad.txt")[0]
    for details in (
        {"outcome": pb.JOB_OUTCOME_INVALID},
        {"outcome": pb.JOB_OUTCOME_READY, "scan_status": "fine"},
        {"outcome": pb.JOB_OUTCOME_READY, "scan_status": "infected"},
        {"outcome": pb.JOB_OUTCOME_INFECTED, "scan_status": "infected " + "x" * 2000},
        {"outcome": pb.JOB_OUTCOME_RETRY, "retry_after_seconds": -1},
    ):
        with pytest.raises(grpc.RpcError) as bad:
            worker.call("Complete", pb.CompleteJobRequest(job_id=job.id, worker=worker.name, **details))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    for request in (
        pb.ClaimJobsRequest(worker="", lease_seconds=5),
        pb.ClaimJobsRequest(worker="w", lease_seconds=0),
        pb.CompleteJobRequest(job_id="1; DROP", worker="w", outcome=pb.JOB_OUTCOME_READY),
    ):
        with pytest.raises(grpc.RpcError) as bad:
            worker.call("Claim" if isinstance(request, pb.ClaimJobsRequest) else "Complete", request)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stack.stat("/bad.txt").processing_status == "processing"
    assert worker.complete(job, pb.JOB_OUTCOME_READY, scan_status="clean").applied
