"""The PostgreSQL side of one extension instance: an asyncpg pool on a private event loop thread,
its schema, its migrations and its instance claim."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Coroutine, Sequence
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
        if parts.scheme not in ("postgresql", "postgres"):
            return "(a DSN that is no postgresql:// URL)"
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    except ValueError:
        return "(an unparsable DSN)"


class Claimed(RuntimeError):
    """Another live process holds this schema (the advisory lock of `Engine.claim`)."""


class Engine:
    def __init__(self, dsn: str, schema: str, pool_size: int = 8, command_timeout: float = 30.0) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"{schema!r} is not a usable PostgreSQL schema name")
        self.dsn = dsn
        self.schema = schema
        self._pool_size = pool_size
        self._command_timeout = command_timeout
        self.loop = asyncio.new_event_loop()  # the private loop: synchronous callers' statements run here
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"pg-{schema}", daemon=True)
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}  # one per loop that runs statements
        self._claim: asyncpg.Connection | None = None

    # -- the loop thread ---------------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine's private loop and wait for it (from any thread but the loop's)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _connect(self, **extra: Any) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.dsn, timeout=CONNECT_TIMEOUT, command_timeout=self._command_timeout,
            server_settings={"search_path": f'"{self.schema}"', "application_name": "ocisd"}, **extra,
        )  # fmt: skip

    async def pool(self) -> asyncpg.Pool:
        """The pool of the running loop (asyncpg connections belong to the loop that made them): the
        private loop's, or the one of the loop whose greenlets run the query functions (`LoopDatabase`)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for gone in [other for other in self._pools if other.is_closed()]:
                del self._pools[gone]  # a finished asyncio.run's: its sockets go with it
            pool = self._pools[loop] = asyncpg.create_pool(
                min_size=0, max_size=self._pool_size, connect=lambda *_a, **_k: self._connect(), reset=_no_reset
            )
            await pool  # min_size=0: connects nothing, so no other task sees it half made
        return pool

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

    def keep_claim(self) -> None:
        """Take the lock again if its connection was lost (PostgreSQL restarted): Claimed if another
        instance took the schema meanwhile, Unavailable while the server is still away."""
        if self._claim is not None and not self._claim.is_closed():
            return
        self._claim = None
        self.claim()

    def close(self) -> None:
        """Drop every pool (on the loop it belongs to) and the claim, and stop the private loop."""
        for loop, pool in list(self._pools.items()):
            if loop is not self.loop:
                _terminate(pool, loop)
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            if self._claim is not None:
                self._claim.terminate()
            if self.loop in self._pools:
                self._pools.pop(self.loop).terminate()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
        self._pools.clear()


async def _no_reset(con: asyncpg.Connection) -> None:
    """A pooled connection changes no session state (settings are SET LOCAL, advisory locks per
    transaction; asyncpg still rolls back an open transaction itself): no reset round trip per release."""


def _terminate(pool: asyncpg.Pool, loop: asyncio.AbstractEventLoop) -> None:
    """Close `pool`'s connections on `loop`, their loop: from its own thread or another's; a closed loop's
    sockets went with it."""
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if loop is here or not loop.is_running():
        if not loop.is_closed():
            pool.terminate()
        return

    async def terminate() -> None:
        pool.terminate()

    asyncio.run_coroutine_threadsafe(terminate(), loop).result()


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
