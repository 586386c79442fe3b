"""Space usage is the root folder's recursive size; a change that would pass the quota is refused."""

from __future__ import annotations

import sqlite3

from . import errors


def used(db: sqlite3.Connection, space: str) -> int:
    row = db.execute("SELECT size FROM nodes WHERE id=?", (space,)).fetchone()
    return int(row[0]) if row else 0


def check(db: sqlite3.Connection, space: str, delta: int, total: int) -> None:
    """Refuse growing a space by `delta` bytes beyond `total` (0 = unlimited)."""
    if total <= 0 or delta <= 0:
        return
    now_used = used(db, space)
    if now_used + delta > total:
        raise errors.quota(f"needs {delta} bytes, {max(total - now_used, 0)} of {total} left")
