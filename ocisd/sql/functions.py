"""SQL functions both engines know: SQLite gets them from Python (`sqlite`), PostgreSQL from this
script, created in each schema at start (idempotent, so not a migration step)."""

from __future__ import annotations

import sqlite3

SQL = """
CREATE OR REPLACE FUNCTION casefold(t TEXT) RETURNS TEXT
  LANGUAGE SQL IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(t) $$;
CREATE OR REPLACE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS BIGINT
  LANGUAGE SQL IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$;
-- SQLite's json_extract for a top-level key only: json_extract(doc, '$."key"').
CREATE OR REPLACE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
  LANGUAGE SQL IMMUTABLE PARALLEL SAFE AS $$ SELECT (doc::jsonb) ->> btrim(substr(path, 3), '"') $$;
"""


def sqlite(db: sqlite3.Connection) -> None:
    """PostgreSQL's GREATEST (SQLite's two-argument MAX has no PostgreSQL twin)."""
    db.create_function("greatest", -1, _greatest, deterministic=True)


def _greatest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
