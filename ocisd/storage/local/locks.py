"""WebDAV locks (exclusive/shared, depth 0/infinity, timeouts) over the node tree.

A lock belongs to a node and covers its path, and with depth infinity
everything below. A change needs, for every lock covering what it changes, one
of that lock's tokens. Expired locks are ignored and purged on the next write.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterable

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import LockInfo

from . import tree

DEFAULT_TIMEOUT = 3600
MAX_TIMEOUT = 7 * 24 * 3600


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def granted_timeout(requested: int) -> int:
    """0 → default, < 0 → infinite (0), else capped."""
    if requested == 0:
        return DEFAULT_TIMEOUT
    if requested < 0:
        return 0
    return min(requested, MAX_TIMEOUT)


def active(db: sqlite3.Connection, space: str) -> list[LockInfo]:
    now = int(time.time())
    rows = db.execute(
        'SELECT token, exclusive, depth_inf, owner, timeout, expires, node, "user" FROM locks'
        " WHERE space=? AND (expires=0 OR expires>?)",
        (space, now),
    ).fetchall()
    return [
        LockInfo(token, bool(ex), bool(inf), owner, timeout, expires, node, tree.path_of(db, node), user)
        for token, ex, inf, owner, timeout, expires, node, user in rows
    ]


def covering(locks: Iterable[LockInfo], path: str) -> list[LockInfo]:
    return [lk for lk in locks if lk.path == path or (lk.depth_infinity and inside(path, lk.path))]


def check(
    db: sqlite3.Connection,
    space: str,
    paths: Iterable[str],
    tokens: Iterable[str],
    recursive: bool,
    membership: bool = False,
) -> None:
    """Refuse a change to `paths` (and with `recursive` what lies below) without the needed tokens.

    `membership`: the change adds or removes `paths` in their folder, which a depth-0
    lock on that folder protects too (RFC 4918 §7.4).
    """
    locks = active(db, space)
    if not locks:
        return
    held = set(tokens)
    for path in paths:
        hit = covering(locks, path)
        if recursive:
            hit += [lk for lk in locks if inside(lk.path, path) and lk.path != path]
        if membership and path != "/":
            folder = path.rsplit("/", 1)[0] or "/"
            hit += [lk for lk in locks if lk.path == folder and not lk.depth_infinity]
        for lk in hit:
            if lk.token not in held:
                raise errors.locked(f"{path} is locked")


def purge_expired(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM locks WHERE expires>0 AND expires<=?", (int(time.time()),))


def acquire(
    db: sqlite3.Connection,
    space: str,
    node_id: str,
    path: str,
    exclusive: bool,
    depth_infinity: bool,
    owner: str,
    timeout: int,
    user: str,
) -> LockInfo:
    purge_expired(db)
    locks = active(db, space)
    conflicts = covering(locks, path)
    if depth_infinity:
        conflicts += [lk for lk in locks if inside(lk.path, path) and lk.path != path]
    if any(exclusive or lk.exclusive for lk in conflicts):
        raise errors.locked(f"{path} is already locked")
    granted = granted_timeout(timeout)
    lock = LockInfo(
        token=f"opaquelocktoken:{secrets.token_hex(16)}",
        exclusive=exclusive,
        depth_infinity=depth_infinity,
        owner=owner,
        timeout=granted,
        expires=int(time.time()) + granted if granted else 0,
        node=node_id,
        path=path,
        user=user,
    )
    db.execute(
        'INSERT INTO locks(token, space, node, exclusive, depth_inf, owner, timeout, expires, "user")'
        " VALUES(?,?,?,?,?,?,?,?,?)",
        (lock.token, space, node_id, int(exclusive), int(depth_infinity), owner, granted, lock.expires, user),
    )
    return lock


def find(db: sqlite3.Connection, space: str, path: str, token: str) -> LockInfo:
    """The lock with `token` if it covers `path`."""
    for lk in covering(active(db, space), path):
        if lk.token == token:
            return lk
    raise errors.precondition("lock-token-mismatch", f"no lock {token!r} on {path}")


def refresh(db: sqlite3.Connection, space: str, path: str, token: str, timeout: int) -> LockInfo:
    lock = find(db, space, path, token)
    lock.timeout = granted_timeout(timeout)
    lock.expires = int(time.time()) + lock.timeout if lock.timeout else 0
    db.execute("UPDATE locks SET timeout=?, expires=? WHERE token=?", (lock.timeout, lock.expires, token))
    return lock


def release(db: sqlite3.Connection, space: str, path: str, token: str) -> None:
    find(db, space, path, token)
    db.execute("DELETE FROM locks WHERE token=?", (token,))


def drop_below(db: sqlite3.Connection, space: str, path: str) -> None:
    """Locks belong to a URL: moving a subtree away ends the locks inside it."""
    for lk in active(db, space):
        if inside(lk.path, path):
            db.execute("DELETE FROM locks WHERE token=?", (lk.token,))
