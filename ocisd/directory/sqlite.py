"""SQLite for directory backends: the connection each opens, and the table of its named records.

`SqliteDirectory` stores one row per record: the record's fields as columns
plus `name_key`; a backend adds its own tables (app tokens, memberships) to the
schema and the methods that use them.
"""

from __future__ import annotations

import sqlite3
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from ocisd.api.identity.v1.contract import NameTaken

from . import Backend, R


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (and create) a database used from the event loop thread only; queries are short."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    path.chmod(0o600)
    return db


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
    """A LIKE pattern (with ESCAPE '\\') matching values that contain `query` literally."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteDirectory(Backend[R]):
    file: ClassVar[str]  # the database, in the extension's data dir
    schema: ClassVar[str]
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]  # the record's fields, in order; the first is the id
    name_column: ClassVar[str]
    search: ClassVar[tuple[str, ...]]  # the columns `find` looks into

    def __init__(self, config: Any, data_dir: Path) -> None:
        super().__init__(config, data_dir)
        self._db = connect(data_dir / self.file, self.schema)
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
        where = " OR ".join(f"{column} LIKE ?1 ESCAPE '\\'" for column in self.search)
        rows = self._db.execute(f"{self._select} WHERE {where} ORDER BY name_key", (like_pattern(query),))
        return [self.record(row) for row in rows]

    def delete(self, record_id: str) -> bool:
        return self._db.execute(f"DELETE FROM {self.table} WHERE id = ?", (record_id,)).rowcount > 0

    def close(self) -> None:
        self._db.close()
