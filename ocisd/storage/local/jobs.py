"""The durable postprocessing queue: one job per (file, revision) to process, kept beside the tree.

A new revision stored while steps are configured is `processing` with an "upload" job
written in the same transaction; a manual scan adds "scan" jobs. Workers lease due jobs
(queued and not before their backoff, or leased with the lease run out) in the writer's
transaction, so two workers never hold the same job. A newer revision drops the file's
upload job (its result would be stale); scan jobs follow the file to its current revision.
Like `tree`, every function here runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from ocisd.api.postprocessing.v1.contract import PROCESSING, READY
from ocisd.storage.resources import Job, Node

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, node TEXT NOT NULL, rev TEXT NOT NULL,
  state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
  created DOUBLE PRECISION NOT NULL, not_before DOUBLE PRECISION NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '',
  lease_until DOUBLE PRECISION NOT NULL DEFAULT 0, uploader TEXT NOT NULL DEFAULT '',
  scan_id TEXT NOT NULL DEFAULT '', prev_rev TEXT NOT NULL DEFAULT '', prev_status TEXT NOT NULL DEFAULT '',
  prev_downloadable BIGINT NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS jobs_node ON jobs(node);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, not_before);
CREATE TABLE IF NOT EXISTS scans(
  id TEXT PRIMARY KEY, space TEXT NOT NULL, path TEXT NOT NULL, creator TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS scan_files(
  scan TEXT NOT NULL, node TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL, time BIGINT NOT NULL,
  PRIMARY KEY(scan, node));
CREATE INDEX IF NOT EXISTS scan_files_node ON scan_files(node);
"""
PENDING = "pending"  # a scan's file waiting for its result
UPLOAD = "upload"
SCAN = "scan"
QUEUED = "queued"
LEASED = "leased"
FAILED = "failed"
_COLUMNS = (
    "j.id, j.kind, j.node, j.rev, j.state, j.attempts, j.last_error, j.created, j.not_before, j.worker,"
    " j.lease_until, j.uploader, j.scan_id, n.space, n.size, n.mime"
)
_LIVE = "n.space NOT LIKE 'trash:%'"  # trashed files wait in the queue until restored or purged


def _job(row: tuple[Any, ...]) -> Job:
    job = Job(*row[:13])
    job.space, job.size, job.mime = row[13:]
    return job


def new_revision(db: sqlite3.Connection, node: Node, prev: Node | None, hold: bool, uploader: str) -> bool:
    """`node` (about to be written) carries a new revision: it is `processing` with a job when `hold`,
    else ready at once. `prev` is the revision this one replaces if it was kept as a version
    (JOB_OUTCOME_REMOVE brings it back). Returns `hold`."""
    db.execute("DELETE FROM jobs WHERE node=? AND kind=?", (node.id, UPLOAD))
    db.execute("UPDATE jobs SET rev=? WHERE node=? AND kind=?", (node.rev, node.id, SCAN))
    node.status, node.downloadable = (PROCESSING, False) if hold else (READY, True)
    node.scan_status, node.scan_time, node.scan_partial = "", 0, False
    if hold:
        queue(db, UPLOAD, node, uploader, prev=prev)
    return hold


def queue(
    db: sqlite3.Connection, kind: str, node: Node, uploader: str, scan_id: str = "", prev: Node | None = None
) -> None:
    db.execute(
        "INSERT INTO jobs(kind, node, rev, state, created, uploader, scan_id, prev_rev, prev_status,"
        " prev_downloadable) VALUES(?,?,?,?,?,?,?,?,?,?)",
        (kind, node.id, node.rev, QUEUED, time.time(), uploader, scan_id, prev.rev if prev else "",
         prev.status if prev else "", int(prev.downloadable) if prev else 1),
    )  # fmt: skip


def follow(db: sqlite3.Connection, node_id: str, rev: str) -> None:
    """The file's content got a new revision that keeps its state (a version restored): its jobs follow."""
    db.execute("UPDATE jobs SET rev=? WHERE node=?", (rev, node_id))


def drop_nodes(db: sqlite3.Connection, node_ids: list[str]) -> None:
    """Files gone for good: their jobs go, and scans still waiting for them count them as errors."""
    db.executemany("DELETE FROM jobs WHERE node=?", ((i,) for i in node_ids))
    db.executemany(
        "UPDATE scan_files SET status='error file deleted', time=? WHERE node=? AND status='pending'",
        ((int(time.time()), i) for i in node_ids),
    )


def claim(db: sqlite3.Connection, worker: str, limit: int, lease: float, now: float) -> list[Job]:
    rows = db.execute(
        f"""SELECT {_COLUMNS} FROM jobs j JOIN nodes n ON n.id = j.node
            WHERE {_LIVE} AND ((j.state=? AND j.not_before<=?) OR (j.state=? AND j.lease_until<?))
            ORDER BY j.not_before, j.id LIMIT ?""",
        (QUEUED, now, LEASED, now, limit),
    ).fetchall()
    found = [_job(r) for r in rows]
    db.executemany(
        "UPDATE jobs SET state=?, worker=?, lease_until=? WHERE id=?",
        ((LEASED, worker, now + lease, j.id) for j in found),
    )
    for j in found:
        j.state, j.worker, j.lease_until = LEASED, worker, now + lease
    return found


def renew(db: sqlite3.Connection, worker: str, ids: Iterable[int], lease: float, now: float) -> list[int]:
    held: list[int] = []
    for job_id in ids:
        row = db.execute(
            "UPDATE jobs SET lease_until=? WHERE id=? AND worker=? AND state=? AND lease_until>=? RETURNING id",
            (now + lease, job_id, worker, LEASED, now),
        ).fetchone()
        if row:
            held.append(int(row[0]))
    return held


def held_by(db: sqlite3.Connection, job_id: int, worker: str, now: float) -> Job | None:
    """The job if `worker` holds its lease now."""
    row = db.execute(
        f"""SELECT {_COLUMNS} FROM jobs j JOIN nodes n ON n.id = j.node
            WHERE j.id=? AND j.worker=? AND j.state=? AND j.lease_until>=?""",
        (job_id, worker, LEASED, now),
    ).fetchone()
    return _job(row) if row else None


def previous(db: sqlite3.Connection, job_id: int) -> tuple[str, str, bool]:
    """(revision, state, downloadable) of the revision the job's one replaced ("" if none was kept)."""
    row = db.execute("SELECT prev_rev, prev_status, prev_downloadable FROM jobs WHERE id=?", (job_id,)).fetchone()
    return (row[0], row[1], bool(row[2])) if row else ("", "", True)


def done(db: sqlite3.Connection, job_id: int) -> None:
    db.execute("DELETE FROM jobs WHERE id=?", (job_id,))


def release(db: sqlite3.Connection, job_id: int) -> None:
    """Back to the queue as it was (its file is in the trash bin: it waits for a restore)."""
    db.execute("UPDATE jobs SET state=?, worker='', lease_until=0 WHERE id=?", (QUEUED, job_id))


def requeue(db: sqlite3.Connection, job_id: int, error: str, delay: float, count: bool, now: float) -> int:
    """Back to the queue after `delay` seconds; returns the failed attempts so far."""
    row = db.execute(
        "UPDATE jobs SET state=?, worker='', lease_until=0, not_before=?, last_error=?,"
        " attempts=attempts+? WHERE id=? RETURNING attempts",
        (QUEUED, now + max(delay, 0.0), error, int(count), job_id),
    ).fetchone()
    return int(row[0])


def fail(db: sqlite3.Connection, job_id: int, error: str) -> None:
    db.execute("UPDATE jobs SET state=?, worker='', lease_until=0, last_error=? WHERE id=?", (FAILED, error, job_id))


def listing(db: sqlite3.Connection, failed_only: bool) -> list[Job]:
    states = (FAILED,) if failed_only else (QUEUED, LEASED, FAILED)
    rows = db.execute(
        f"""SELECT {_COLUMNS} FROM jobs j JOIN nodes n ON n.id = j.node
            WHERE j.state IN ({",".join("?" * len(states))}) ORDER BY j.id""",
        states,
    )
    return [_job(r) for r in rows]


def retry(db: sqlite3.Connection, ids: list[int] | None) -> list[Job]:
    """Failed jobs (these, or all when None) back to the queue with no attempts counted; an upload's
    revision is `processing` again, a scan's file `pending`. Returns them."""
    failed = [j for j in listing(db, True) if ids is None or j.id in ids]
    for job in failed:
        db.execute(
            "UPDATE jobs SET state=?, attempts=0, not_before=0, worker='', lease_until=0 WHERE id=?", (QUEUED, job.id)
        )
        if job.kind == UPLOAD:
            db.execute("UPDATE nodes SET status=?, downloadable=0 WHERE id=?", (PROCESSING, job.node))
        else:
            db.execute("UPDATE nodes SET scan_status=? WHERE id=?", (PENDING, job.node))
            db.execute("UPDATE scan_files SET status=? WHERE scan=? AND node=?", (PENDING, job.scan_id, job.node))
    return failed
