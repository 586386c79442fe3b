"""The PostgreSQL side of one extension instance: an asyncpg pool on a private event loop thread,
its schema, its migrations and its instance claim."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError

from . import functions
from .connection import Connection, Unavailable, translate
from .migrations import Step, apply

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def dsn_for(cfg: EffectiveConfig) -> str:
    """The extension's DSN (`<EXTENSION>_POSTGRES_DSN`, else OCIS_POSTGRES_DSN); ConfigError without one."""
    dsn = str(cfg.shared.postgres_dsn or "")
    if not dsn:
        env = (cfg.name or "ocis").upper().replace("-", "_")
        raise ConfigError(f"{cfg.name}: PostgreSQL metadata needs a DSN: set {env}_POSTGRES_DSN or OCIS_POSTGRES_DSN")
    return dsn


def where(dsn: str) -> str:
    """The DSN without its password, for messages."""
    try:
        parts = urlsplit(dsn)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    except ValueError:
        return "(unparsable DSN)"


class Claimed(RuntimeError):
    """Another live process holds this schema (the advisory lock of `Engine.claim`)."""


class Engine:
    def __init__(self, dsn: str, schema: str, pool_size: int = 4, command_timeout: float = 30.0) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"{schema!r} is not a usable PostgreSQL schema name")
        self.dsn = dsn
        self.schema = schema
        self._pool_size = pool_size
        self._command_timeout = command_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"pg-{schema}", daemon=True)
        self._pool: asyncpg.Pool | None = None
        self._claim: asyncpg.Connection | None = None

    # -- the loop thread ---------------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine's loop and wait for it (from any thread but the loop's)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _connect(self, **extra: Any) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.dsn, timeout=CONNECT_TIMEOUT, command_timeout=self._command_timeout,
            server_settings={"search_path": f'"{self.schema}"', "application_name": "ocisd"}, **extra,
        )  # fmt: skip

    async def pool_acquire(self) -> Any:
        assert self._pool is not None, "engine not open"
        return await self._pool.acquire(timeout=CONNECT_TIMEOUT)

    async def pool_release(self, con: Any) -> None:
        assert self._pool is not None
        try:
            await self._pool.release(con)
        except Exception:  # a broken connection: the pool drops it and connects anew next time
            con.terminate()

    async def with_connection(self, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        con = await self.pool_acquire()
        try:
            return await fn(con)
        finally:
            await self.pool_release(con)

    # -- life --------------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, create the schema and its SQL functions. Unavailable when the server cannot be reached,
        ConfigError for what only the operator fixes (a bad DSN, password or database); both name the server."""
        self._thread.start()

        async def start() -> None:
            first = await self._connect()  # the first connection's error is the clearest one
            try:
                await first.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                await first.execute(functions.SQL)
            finally:
                await first.close()
            self._pool = await asyncpg.create_pool(
                min_size=0, max_size=self._pool_size, connect=lambda *_a, **_k: self._connect()
            )

        try:
            self.call(start())
        except Exception as exc:
            self.close()
            mapped = translate(exc)
            message = f"PostgreSQL at {where(self.dsn)}: {_short(mapped)}"
            # Unreachable may pass (a restart retries); a bad DSN, password or database name will not.
            raise (Unavailable(message) if isinstance(mapped, Unavailable) else ConfigError(message)) from None

    def connect(self) -> Connection:
        return Connection(self)

    def migrate(self, steps: Sequence[Step]) -> list[Step]:
        """Apply the steps not applied yet, in order, each in its own transaction; the ones applied."""
        return apply(self.connect(), self.schema, steps)

    def claim(self) -> None:
        """Hold the schema's advisory lock on a connection of its own for this process's life: a second
        live instance on the same schema is refused; a killed one's lock goes with its connection."""
        key = int.from_bytes(hashlib.sha256(f"ocisd:{self.schema}".encode()).digest()[:8], "big", signed=True)

        async def take() -> bool:
            con = await self._connect()
            if await con.fetchval("SELECT pg_try_advisory_lock($1)", key):
                self._claim = con
                return True
            await con.close()
            return False

        try:
            held = self.call(take())
        except Exception as exc:
            raise Unavailable(_short(translate(exc))) from None
        if not held:
            raise Claimed(f"schema {self.schema}: another live instance uses it (PostgreSQL advisory lock)")

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            if self._claim is not None:
                self._claim.terminate()
            if self._pool is not None:
                self._pool.terminate()

        self.call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
