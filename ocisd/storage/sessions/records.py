"""Upload-session records: who owns a session, where it goes and how far it got, in SQLite or PostgreSQL.

The records live in their own database (`uploads/sessions.db`, WAL, synchronous
FULL) beside the driver's, or in the instance's PostgreSQL schema with metadata=postgres,
so sessions work with any driver: the bytes are
kept by `files`, and finishing hands them to the driver like one upload.
An offset is committed only after its bytes were fsynced, so after a crash the
recorded offset never points past durable data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocisd import sql
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1.contract import ID_SEPARATOR
from ocisd.storage.durable_db import DurableDb
from ocisd.storage.resources import Ref, UploadOptions

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions(
  id TEXT PRIMARY KEY, "user" TEXT NOT NULL, space TEXT NOT NULL, target TEXT NOT NULL,
  length BIGINT NOT NULL, "offset" BIGINT NOT NULL, opts TEXT NOT NULL, metadata TEXT NOT NULL,
  created BIGINT NOT NULL, expires BIGINT NOT NULL, rev TEXT NOT NULL DEFAULT '',
  creates BIGINT NOT NULL DEFAULT 0, result TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS sessions_user ON sessions("user", space);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires);
"""
INSERTED = 'id, "user", space, target, length, "offset", opts, metadata, created, expires'
COLUMNS = f"{INSERTED}, rev, creates, result"


@dataclass
class Session:
    id: str
    user: str
    space: str
    target: Ref | None
    length: int  # -1 = unknown
    offset: int
    opts: UploadOptions  # checksum, mtime, conditions and lock tokens for the commit
    metadata: dict[str, str]
    created: int  # unix seconds
    expires: int
    rev: str = ""  # the revision being committed (set just before the driver commit)
    creates: bool = False  # that commit creates the file (201) rather than replacing it
    result: dict[str, Any] = field(default_factory=dict)  # {"node", "created"} once committed

    @property
    def name(self) -> str:
        return self.id.rpartition(ID_SEPARATOR)[2]


def _row(s: Session) -> tuple[Any, ...]:
    target = json.dumps(s.target.__dict__) if s.target else ""
    opts = json.dumps({**s.opts.__dict__, "lock_tokens": list(s.opts.lock_tokens)})
    return (s.id, s.user, s.space, target, s.length, s.offset, opts, json.dumps(s.metadata), s.created, s.expires)


def _session(row: tuple[Any, ...]) -> Session:
    opts = json.loads(row[6])
    return Session(
        id=row[0],
        user=row[1],
        space=row[2],
        target=Ref(**json.loads(row[3])) if row[3] else None,
        length=row[4],
        offset=row[5],
        opts=UploadOptions(**{**opts, "lock_tokens": tuple(opts["lock_tokens"])}),
        metadata=json.loads(row[7]),
        created=row[8],
        expires=row[9],
        rev=row[10],
        creates=bool(row[11]),
        result=json.loads(row[12]) if row[12] else {},
    )


class SessionRecords(DurableDb):
    """The records, on one thread with one connection (few, small writes: one per fsync)."""

    def __init__(self, path: Path, engine: sql.Engine | None = None) -> None:
        super().__init__(path, SCHEMA, "upload-sessions", engine)

    async def _run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return await self._tx(lambda db: db.execute(sql, args).fetchall())

    async def insert(self, s: Session, now: int) -> None:
        """Add `s`; an expired record of the same id is replaced, a live one refused."""

        def insert(db: Any) -> bool:
            db.execute("DELETE FROM sessions WHERE id=? AND expires<=?", (s.id, now))
            marks = ",".join("?" * len(INSERTED.split(",")))
            sql = f"INSERT INTO sessions({INSERTED}) VALUES({marks}) ON CONFLICT(id) DO NOTHING"
            return db.execute(sql, _row(s)).rowcount == 1

        if not await self._tx(insert):
            raise errors.exists(f"upload session {s.name} exists")

    async def get(self, session_id: str) -> Session | None:
        rows = await self._run(f"SELECT {COLUMNS} FROM sessions WHERE id=?", session_id)
        return _session(rows[0]) if rows else None

    async def of_user(self, user: str, space: str, now: int) -> list[Session]:
        rows = await self._run(
            f'SELECT {COLUMNS} FROM sessions WHERE "user"=? AND space=? AND expires>? ORDER BY created, id',
            user,
            space,
            now,
        )
        return [_session(r) for r in rows]

    async def ids(self) -> set[str]:
        return {r[0] for r in await self._run("SELECT id FROM sessions")}

    async def expired(self, now: int) -> list[str]:
        return [r[0] for r in await self._run("SELECT id FROM sessions WHERE expires<=?", now)]

    async def set_offset(self, session_id: str, offset: int) -> None:
        await self._run('UPDATE sessions SET "offset"=? WHERE id=?', offset, session_id)

    async def set_rev(self, session_id: str, rev: str, creates: bool) -> None:
        await self._run("UPDATE sessions SET rev=?, creates=? WHERE id=?", rev, int(creates), session_id)

    async def set_result(self, session_id: str, result: dict[str, Any]) -> None:
        await self._run("UPDATE sessions SET result=? WHERE id=?", json.dumps(result), session_id)

    async def delete(self, session_id: str) -> None:
        await self._run("DELETE FROM sessions WHERE id=?", session_id)
