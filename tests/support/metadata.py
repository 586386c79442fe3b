"""Storage metadata on PostgreSQL for in-process driver tests: an engine on a fresh database with
the storage migrations applied, handed to a driver before `open` (what the extension does)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ocisd.sql import Engine
from ocisd.storage.local.postgres import MIGRATIONS
from tests.support.postgres import Postgres

BACKENDS = ("sqlite", "postgres")


@contextmanager
def storage_engine(postgres: Postgres, schema: str = "storage_users") -> Iterator[Engine]:
    engine = Engine(postgres.new_database(), schema)
    engine.open()
    try:
        engine.migrate(MIGRATIONS)
        yield engine
    finally:
        engine.close()


def metadata_env(backend: str, request: object, extension: str = "STORAGE_USERS") -> dict[str, str]:
    """The environment that puts a storage extension's metadata on `backend` (a fresh database)."""
    if backend == "sqlite":
        return {}
    postgres: Postgres = request.getfixturevalue("postgres")  # type: ignore[attr-defined]
    return {f"{extension}_METADATA": "postgres", f"{extension}_POSTGRES_DSN": postgres.new_database()}
