"""SQL for directory backends (and the share and record stores): SQLite or PostgreSQL, one copy of the queries.

A backend names its `Tables`: an SQLite file in the extension's data dir with a
script run at every open (CREATE … IF NOT EXISTS, as before), and a PostgreSQL
schema with versioned migrations applied at start. `open_db` gives either a
`sqlite3.Connection` or an `ocisd.sql.Connection` (the same small surface), so
the queries are written once, in the SQL both engines accept.

`SqlDirectory` stores one row per record: the record's fields as columns plus
`name_key`; a backend adds its own tables (app tokens, memberships) to the
schema and the methods that use them.
"""

from __future__ import annotations

import sqlite3
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ocisd import sql
from ocisd.api.identity.v1.contract import NameTaken
from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError

from . import Backend, R


@dataclass(frozen=True)
class Tables:
    """Where a backend keeps its rows: `file` in the data dir (SQLite) or PostgreSQL schema `schema`."""

    file: str
    script: str  # the SQLite schema, run at every open
    schema: str
    steps: tuple[sql.Step, ...]  # the PostgreSQL migrations, in order


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (and create) a SQLite database used from one thread at a time; queries are short."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    path.chmod(0o600)
    return db


class PostgresConnection(sql.Connection):
    """A connection that owns its engine: closing it closes the pool."""

    def __init__(self, engine: sql.Engine) -> None:
        super().__init__(engine)
        self.engine = engine

    def close(self) -> None:
        super().close()
        self.engine.close()


def open_postgres(dsn: str, tables: Tables) -> tuple[sql.Engine, list[sql.Step]]:
    """Connect to the schema and apply its migrations; `sql.Unavailable` when the server cannot be reached
    (a restart may find it), ConfigError for what only the operator fixes (no DSN, a bad one)."""
    if not dsn:
        env = tables.schema.upper()
        raise ConfigError(
            f"{tables.schema}: the postgres driver needs a DSN: set {env}_POSTGRES_DSN or OCIS_POSTGRES_DSN"
        )
    engine = sql.Engine(dsn, tables.schema)
    engine.open()
    try:
        applied = engine.migrate(tables.steps)
    except BaseException:
        engine.close()
        raise
    return engine, applied


def open_db(engine: str, tables: Tables, data_dir: Path, dsn: str) -> Any:
    """A connection to the backend's tables on `engine` ("sqlite" or "postgres"), schema up to date."""
    if engine == "postgres":
        return PostgresConnection(open_postgres(dsn, tables)[0])
    return connect(data_dir / tables.file, tables.script)


def migrate_postgres(cfg: EffectiveConfig, tables: Tables) -> list[str]:
    """`ocis <extension> migrate`: the PostgreSQL migrations not applied yet; ConfigError when the
    extension's driver is not postgres or its database cannot be reached."""
    driver = cfg.own.driver
    if driver != "postgres":
        raise ConfigError(
            f"{tables.schema}: driver is {driver!r}: only the postgres driver has migrations"
            f" (set {tables.schema.upper()}_DRIVER=postgres)"
        )
    try:
        engine, applied = open_postgres(sql.dsn_for(cfg), tables)
    except sql.Unavailable as exc:  # at start a restart may find it; a command run by hand just says so
        raise ConfigError(str(exc)) from None
    engine.close()
    return [f"{tables.schema} {step.version}: {step.description}" for step in applied]


@contextmanager
def transaction(db: Any) -> Iterator[Any]:
    """`with transaction(db):` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching lower-cased values that contain `query` literally."""
    return "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlDirectory(Backend[R]):
    engine: ClassVar[str] = "sqlite"  # or "postgres": the same queries
    tables: ClassVar[Tables]
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]  # the record's fields, in order; the first is the id
    name_column: ClassVar[str]
    search: ClassVar[tuple[str, ...]]  # the columns `find` looks into

    def __init__(self, config: Any, data_dir: Path, dsn: str = "") -> None:
        super().__init__(config, data_dir, dsn)
        self._db = open_db(self.engine, self.tables, data_dir, dsn)
        self._select = f"SELECT {', '.join(self.columns)} FROM {self.table}"

    @abstractmethod
    def record(self, row: Any) -> R:
        """The record a row of `columns` holds."""

    def _one(self, row: Any) -> R | None:
        return None if row is None else self.record(row)

    def add(self, record: R, name_key: str) -> None:
        marks = ", ".join("?" * (len(self.columns) + 1))
        values = [getattr(record, column) for column in self.columns]
        try:
            self._db.execute(
                f"INSERT INTO {self.table} (name_key, {', '.join(self.columns)}) VALUES ({marks})", (name_key, *values)
            )
        except sqlite3.IntegrityError:
            raise NameTaken(getattr(record, self.name_column)) from None

    def get(self, record_id: str) -> R | None:
        return self._one(self._db.execute(f"{self._select} WHERE id = ?", (record_id,)).fetchone())

    def by_name(self, name_key: str) -> R | None:
        return self._one(self._db.execute(f"{self._select} WHERE name_key = ?", (name_key,)).fetchone())

    def find(self, query: str) -> list[R]:
        # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        where = " OR ".join(f"lower({column}) LIKE ? ESCAPE '\\'" for column in self.search)
        pattern = like_pattern(query)
        rows = self._db.execute(f"{self._select} WHERE {where} ORDER BY name_key", (pattern,) * len(self.search))
        return [self.record(row) for row in rows]

    def delete(self, record_id: str) -> bool:
        return self._db.execute(f"DELETE FROM {self.table} WHERE id = ?", (record_id,)).rowcount > 0

    def close(self) -> None:
        self._db.close()
