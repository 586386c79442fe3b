"""Manual virus scans: every file of a subtree queued for the `virusscan` step in one transaction.

Each file gets a "scan" job for its current revision, scan_status `pending` and a
`scan_files` row the job's completion fills in (outcomes); a file deleted for good
before its turn counts as an error (jobs.drop_nodes), so every scan ends.
"""

from __future__ import annotations

import sqlite3
import time

from ocisd.storage.resources import FILE, Ref, Scan, ScanFile

from . import jobs, tree
from .database import transaction
from .locate import locate_existing

PENDING = jobs.PENDING


def create(db: sqlite3.Connection, ref: Ref, creator: str, scan_id: str) -> Scan:
    with transaction(db):
        loc = locate_existing(db, ref)
        top = loc.existing()
        paths = {top.id: loc.path}
        scan = Scan(scan_id, ref.space, loc.path, creator, int(time.time()))
        db.execute(
            "INSERT INTO scans(id, space, path, creator, created) VALUES(?,?,?,?,?)",
            (scan_id, ref.space, loc.path, creator, scan.created),
        )
        for node in tree.subtree_nodes(db, top.id):  # parents first: their paths are known
            if node.id != top.id:
                paths[node.id] = f"{paths[node.parent or ''].rstrip('/')}/{node.name}"
            if node.type != FILE:
                continue
            jobs.queue(db, jobs.SCAN, node, creator, scan_id)
            db.execute("UPDATE nodes SET scan_status=? WHERE id=?", (PENDING, node.id))
            db.execute(
                "INSERT INTO scan_files(scan, node, path, status, time) VALUES(?,?,?,?,0)",
                (scan_id, node.id, paths[node.id], PENDING),
            )
            scan.files.append(ScanFile(node.id, paths[node.id], PENDING, 0))
        return scan


def get(db: sqlite3.Connection, space: str, scan_id: str) -> Scan | None:
    row = db.execute("SELECT space, path, creator, created FROM scans WHERE id=? AND space=?", (scan_id, space))
    found = row.fetchone()
    if found is None:
        return None
    scan = Scan(scan_id, *found)
    rows = db.execute("SELECT node, path, status, time FROM scan_files WHERE scan=? ORDER BY path", (scan_id,))
    scan.files = [ScanFile(*r) for r in rows]
    return scan
