"""Versioned schema migrations: numbered steps applied in order, each in its own transaction and
recorded in the schema's `schema_migrations` table, so a crash between two resumes at the next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import Connection

TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, description TEXT NOT NULL,"
TABLE += " applied TIMESTAMPTZ NOT NULL DEFAULT now())"


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    run: str | Callable[[Connection], None]  # a script, or a function given the open transaction


def apply(db: Connection, schema: str, steps: Sequence[Step]) -> list[Step]:
    versions = [s.version for s in steps]
    assert versions == sorted(set(versions)), "migration versions must increase"
    db.execute(TABLE)
    done: list[Step] = []
    for step in steps:
        with db.transaction():
            # Two processes starting at once: the second waits here, then sees the step applied.
            db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"ocisd-migrate:{schema}",))
            if db.execute("SELECT 1 FROM schema_migrations WHERE version=?", (step.version,)).fetchone():
                continue
            if isinstance(step.run, str):
                db.executescript(step.run)
            else:
                step.run(db)
            db.execute(
                "INSERT INTO schema_migrations(version, description) VALUES(?, ?)", (step.version, step.description)
            )
        done.append(step)
    return done
