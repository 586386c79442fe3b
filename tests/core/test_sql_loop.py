"""PostgreSQL query functions in greenlets on the event loop (`ocisd.sql.LoopDatabase`), on a real server:
statements run on the caller's thread, readers side by side, writers one after another, a write runs to
its end when its caller is cancelled, and errors stay what the SQLite code expects."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ocisd.sql import Connection, Engine, LoopDatabase, Step, bridge
from tests.support.postgres import Postgres

LOCK = 7  # the advisory lock the test holds to keep a query function waiting inside PostgreSQL
STEPS = [Step(1, "notes", "CREATE TABLE notes(id BIGINT PRIMARY KEY, who TEXT NOT NULL)")]


def run(postgres: Postgres, scenario: Callable[[Engine, LoopDatabase, Connection], Awaitable[None]]) -> None:
    engine = Engine(postgres.new_database(), "loop_test")
    engine.open()
    engine.migrate(STEPS)

    async def main() -> None:
        db = LoopDatabase(engine)
        holder = engine.connect()  # no greenlet here: it waits on the engine's private loop
        try:
            await scenario(engine, db, holder)
        finally:
            holder.close()
            db.close()
            await asyncio.to_thread(engine.close)  # as the extension does: its pools on their own loops

    asyncio.run(main())


async def until(done: Callable[[], bool]) -> None:
    for _ in range(2000):
        if done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("not reached")


def wait_for_lock(db: Any, who: str) -> str:
    db.execute("SELECT pg_advisory_xact_lock_shared(?)", (LOCK,))
    return who


def test_statements_run_on_the_loop_thread_a_writer_awaits_coroutines_and_offloads_blocking_calls(
    postgres: Postgres,
) -> None:
    async def scenario(engine: Engine, db: LoopDatabase, holder: Connection) -> None:
        loop = asyncio.get_running_loop()

        def note(db: Any, n: int) -> tuple[str, Any, str]:
            with db.transaction():
                db.execute("INSERT INTO notes(id, who) VALUES(?, ?)", (n, "w"))
                # What the S3 store does from a writer function: awaited right here, no deadlock.
                slept = bridge.wait(asyncio.sleep(0, "slept"), loop)
                # What the local store does for a directory fsync: off the loop, on a worker thread.
                elsewhere = bridge.offload(lambda: threading.current_thread().name)
            return threading.current_thread().name, slept, elsewhere

        here, slept, elsewhere = await db.write(note, 1)
        assert (here, slept) == (threading.current_thread().name, "slept") and elsewhere != here
        assert await db.read(lambda db: db.execute("SELECT who FROM notes").fetchall()) == [("w",)]
        assert holder.execute("SELECT count(*) FROM notes").fetchone() == (1,)  # the hop path, same rows

    run(postgres, scenario)


def test_readers_run_side_by_side_and_writers_take_turns(postgres: Postgres) -> None:
    async def scenario(engine: Engine, db: LoopDatabase, holder: Connection) -> None:
        holder.begin()
        holder.execute("SELECT pg_advisory_xact_lock(?)", (LOCK,))
        stuck_read = asyncio.ensure_future(db.read(wait_for_lock, "r1"))
        assert await db.read(lambda db: db.execute("SELECT 2").fetchone()) == (2,)  # while r1 waits
        started: list[str] = []

        def write(db: Any, who: str) -> str:
            started.append(who)
            return wait_for_lock(db, who)

        first = asyncio.ensure_future(db.write(write, "w1"))
        second = asyncio.ensure_future(db.write(write, "w2"))
        await until(lambda: started == ["w1"])
        assert await db.read(lambda db: db.execute("SELECT 3").fetchone()) == (3,)  # the loop is free
        assert started == ["w1"] and not stuck_read.done()  # w2 waits for w1
        holder.commit()
        assert await asyncio.gather(stuck_read, first, second) == ["r1", "w1", "w2"]
        assert started == ["w1", "w2"]

    run(postgres, scenario)


def test_a_write_whose_caller_is_cancelled_runs_to_its_end(postgres: Postgres) -> None:
    async def scenario(engine: Engine, db: LoopDatabase, holder: Connection) -> None:
        def write(db: Any) -> None:
            with db.transaction():
                wait_for_lock(db, "w")
                db.execute("INSERT INTO notes(id, who) VALUES(1, 'after the wait')")

        holder.begin()
        holder.execute("SELECT pg_advisory_xact_lock(?)", (LOCK,))
        caller = asyncio.ensure_future(db.write(write))
        await until(lambda: bool(holder.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]))
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        holder.commit()
        look = "SELECT who FROM notes"
        await until(lambda: holder.execute(look).fetchall() == [("after the wait",)])

    run(postgres, scenario)


def test_an_integrity_error_is_sqlites_and_the_writer_carries_on(postgres: Postgres) -> None:
    async def scenario(engine: Engine, db: LoopDatabase, holder: Connection) -> None:
        def insert(db: Any, n: int) -> None:
            with db.transaction():
                db.execute("INSERT INTO notes(id, who) VALUES(?, 'x')", (n,))

        await db.write(insert, 1)
        with pytest.raises(sqlite3.IntegrityError):
            await db.write(insert, 1)
        await db.write(insert, 2)
        assert await db.read(lambda db: db.execute("SELECT id FROM notes ORDER BY id").fetchall()) == [(1,), (2,)]

    run(postgres, scenario)
