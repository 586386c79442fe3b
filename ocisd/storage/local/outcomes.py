"""A postprocessing job's outcome applied to its file, in one transaction with the job's end.

Only the worker holding an unexpired lease completes a job. An upload job's READY or
INFECTED sets the revision's state; REMOVE drops the revision: the version this upload
made comes back (state and all), or the file goes for good when there was none; FAILED
marks the revision `error`. A scan job only records the scan's result (and marks the
file infected unless it stays downloadable). RETRY puts the job back after a backoff,
counting the attempt when asked, and FAILED once the worker's max_attempts is reached.
"""

from __future__ import annotations

import sqlite3
import time

from ocisd.api.postprocessing.v1.contract import ERROR, INFECTED, PROCESSING, READY
from ocisd.api.storage.v1 import errors
from ocisd.storage.blobs import BlobStore
from ocisd.storage.resources import FILE, Completion, Job, Node, Outcome

from . import garbage, jobs, tree, versions
from .database import transaction

REMOVE = "remove"
RETRY = "retry"
FAILED = "failed"


def complete(db: sqlite3.Connection, blobs: BlobStore, job_id: int, worker: str, out: Outcome) -> Completion:
    dropped: list[str] = []
    with transaction(db):
        now = time.time()
        job = jobs.held_by(db, job_id, worker, now)
        node = tree.get(db, job.node) if job is not None else None
        if job is None or node is None:
            return Completion(False, _state_of(db, job_id))
        node.path = tree.path_of(db, node.id)
        if node.space.startswith("trash:"):
            jobs.release(db, job.id)  # trashed meanwhile: it waits for a restore (or goes with a purge)
            return Completion(False, jobs.QUEUED)
        if job.kind == jobs.SCAN and out.kind == REMOVE:
            raise errors.invalid("bad-outcome", "a scan job never removes the file")
        recipients = _recipients(db, node, job)
        state = "done"
        if out.kind == RETRY:
            attempts = jobs.requeue(db, job.id, out.error, out.retry_after, out.count_attempt, now)
            if not (out.count_attempt and 0 < out.max_attempts <= attempts):
                return Completion(True, jobs.QUEUED, node, recipients)
            out = Outcome(FAILED, error=out.error)
        if out.kind == FAILED:
            jobs.fail(db, job.id, out.error)
            state = jobs.FAILED
            _failed(node, job, out, now)
        elif out.kind == REMOVE:
            node, dropped = _remove(db, node, job)
        elif out.kind in (READY, INFECTED):
            jobs.done(db, job.id)
            _scanned(node, job, out, now)
        else:
            raise errors.invalid("bad-outcome", f"unknown outcome {out.kind!r}")
        if node is not None:
            tree.set_state(db, node)
            if job.kind == jobs.SCAN:
                db.execute(
                    "UPDATE scan_files SET status=?, time=? WHERE scan=? AND node=?",
                    (node.scan_status, node.scan_time, job.scan_id, node.id),
                )
        garbage.mark(db, dropped)
    garbage.collect(db, blobs, dropped)
    return Completion(True, state, node, recipients)


def _state_of(db: sqlite3.Connection, job_id: int) -> str:
    row = db.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
    return str(row[0]) if row else "done"


def _recipients(db: sqlite3.Connection, node: Node, job: Job) -> tuple[str, ...]:
    row = db.execute("SELECT owner FROM spaces WHERE id=?", (node.space,)).fetchone()
    return tuple(dict.fromkeys(u for u in (row[0] if row else "", job.uploader) if u))


def _scanned(node: Node, job: Job, out: Outcome, now: float) -> None:
    if out.scan_status:
        node.scan_status, node.scan_time, node.scan_partial = out.scan_status, int(now), out.scan_partial
    if job.kind == jobs.UPLOAD:
        node.status, node.downloadable = (READY, True) if out.kind == READY else (INFECTED, out.downloadable)
    elif out.kind == INFECTED and not out.downloadable:
        node.status, node.downloadable = INFECTED, False


def _failed(node: Node, job: Job, out: Outcome, now: float) -> None:
    if job.kind == jobs.UPLOAD:
        node.status, node.downloadable = ERROR, False
    else:
        node.scan_status, node.scan_time = f"error {out.error or 'scan failed'}", int(now)


def _remove(db: sqlite3.Connection, node: Node, job: Job) -> tuple[Node | None, list[str]]:
    """Drop the job's revision: the version its upload made becomes current again, or the file goes."""
    prev_rev, prev_status, prev_downloadable = jobs.previous(db, job.id)
    kept = versions.get(db, node.id, prev_rev) if prev_rev else None
    assert node.parent is not None  # files always have a folder
    now = time.time_ns()
    if kept is None:
        dropped = tree.delete_subtree(db, node.id)  # its jobs too
        tree.propagate(db, node.parent, -node.size, now)
        return None, dropped
    jobs.done(db, job.id)
    back = Node(
        node.id, node.space, node.parent, node.name, FILE, kept.size, kept.mtime, tree.new_etag(), kept.key,
        kept.sha1, kept.md5, kept.adler32, node.mime, node.props, node.path,
    )  # fmt: skip
    back.status, back.downloadable = prev_status or READY, prev_downloadable
    db.execute("DELETE FROM versions WHERE node=? AND key=?", (node.id, kept.key))  # its blob is current again
    tree.update_content(db, back)
    tree.propagate(db, node.parent, kept.size - node.size, now)
    if back.status == PROCESSING:  # it was replaced before its own steps ended: they run again
        jobs.queue(db, jobs.UPLOAD, back, job.uploader)
    return back, [tree.blob_name(node.id, node.rev)]
