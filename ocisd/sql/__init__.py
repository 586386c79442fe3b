"""PostgreSQL behind the sqlite3-style query modules: one copy of every query, two engines.

Query code stays synchronous `fn(db, ...)`. With SQLite `db` is a `sqlite3.Connection` used on DB
threads (`Database`); with PostgreSQL it is a `Connection` of this package, which offers the same
small surface. `LoopDatabase` runs the query functions in greenlets on the caller's event loop and
each statement awaits its asyncpg call right there (`bridge`: no thread, no hop); synchronous callers
with no loop of theirs (start, migrations, claims) wait while the engine's private loop runs it.

Interface (stable; add, don't rename):

- `dsn_for(cfg)` → the DSN an extension uses (`<EXTENSION>_POSTGRES_DSN`, else `OCIS_POSTGRES_DSN`);
  ConfigError (exit 2) when there is none.
- `Engine(dsn, schema)`; `engine.open()` connects (naming the server: `Unavailable` when unreachable,
  ConfigError for a bad DSN, password or database),
  creates the schema and sets `search_path` to it on every connection; `engine.migrate(steps)`
  applies the numbered steps not applied yet (`Step(version, description, sql-or-callable)`, each in
  its own transaction, recorded in `<schema>.schema_migrations`) and returns what it applied;
  `engine.claim()` takes a session advisory lock for the schema for the process's life (`Claimed`
  if another live process holds it; `engine.keep_claim()`, called now and then, takes it again after
  the server restarted); `engine.connect()` gives a `Connection`; `engine.close()`.
- `Connection`: `execute(sql, params)` → cursor (`fetchone`, `fetchall`, `rowcount`, iteration),
  `executemany`, `executescript`, `begin(read_only=, durable=)` / `commit()` / `rollback()` (also as
  `execute("BEGIN" | "BEGIN IMMEDIATE" | "COMMIT" | "ROLLBACK")`), `with db.transaction(): ...`.
  `?` placeholders become `$n`; rows come back as tuples. Unlike SQLite, PostgreSQL aborts a transaction
  at its first failed statement: code that catches an IntegrityError and carries on in the same
  transaction must use `ON CONFLICT` instead (or end the transaction there).
- `Database(connect, readers)`: one writer thread (`await db.write(fn, *args)`, fn opens its own
  transactions) and reader threads (`await db.read(fn, *args)`: one deferred transaction on SQLite, a
  consistent snapshot). `LoopDatabase(engine)`: the same two calls for PostgreSQL on the caller's loop,
  writes serialised by an asyncio.Lock, each read one REPEATABLE READ READ ONLY transaction.
- `bridge.run(fn, *args)` / `bridge.wait(coro, loop)`: synchronous code awaiting a coroutine, through
  the greenlet when inside one, else by a hop to `loop` (the S3 blob store's calls from writer functions).
- Errors: an integrity violation (unique, foreign key, not null, check) raises `sqlite3.IntegrityError`,
  what the SQLite code already catches; a lost or unreachable server raises `Unavailable`
  (a ConnectionError) and the next call reconnects.

Portable SQL (what both engines accept): `ON CONFLICT … DO NOTHING/DO UPDATE` instead of `INSERT OR
IGNORE/REPLACE`; BIGINT for sizes and times, DOUBLE PRECISION for float seconds; quoted reserved
words (`"user"`, `"offset"`); `CAST(? AS TEXT)` where a bare parameter has no type; `GREATEST(a, b)`,
`casefold(t)`, `instr(a, b)` and `json_extract(doc, '$."key"')` exist on both (`functions`).
`ddl(script)` turns a SQLite schema script into PostgreSQL's (`INTEGER PRIMARY KEY AUTOINCREMENT`).
"""

from .connection import Connection, Unavailable, ddl
from .database import Database, LoopDatabase
from .engine import Claimed, Engine, dsn_for
from .migrations import Step

__all__ = ["Claimed", "Connection", "Database", "Engine", "LoopDatabase", "Step", "Unavailable", "ddl", "dsn_for"]
