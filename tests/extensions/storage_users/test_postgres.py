"""storage-users on PostgreSQL as real processes: `ocis <name> migrate`, the refusal of an overlapping
home range and of a second live instance of one range, litmus through the proxy, and PostgreSQL
going away (503) and coming back (everything works again, nothing lost)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.test_litmus import assert_litmus_passes
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment, deployment, free_port, wait_until
from tests.support.postgres import Postgres, running_postgres


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    """A server of this module's own: one test stops it."""
    with running_postgres() as server:
        yield server


def on(dsn: str, home_range: str = "00-ff", prefix: str = "STORAGE_USERS") -> dict[str, str]:
    return {f"{prefix}_METADATA": "postgres", f"{prefix}_POSTGRES_DSN": dsn, f"{prefix}_HOME_RANGE": home_range}


def test_migrate_applies_each_step_once_and_refuses_without_a_database(dep: Deployment, pg: Postgres) -> None:
    dsn = pg.new_database()
    first = dep.ocis("storage-users", "migrate", env=on(dsn, "00-7f"))
    assert first.returncode == 0 and "applied storage_users_00_7f 1: storage metadata" in first.stdout, first
    again = dep.ocis("storage-users", "migrate", env=on(dsn, "00-7f"))
    assert again.returncode == 0 and "up to date" in again.stdout, again
    db = dsn.rsplit("/", 1)[1]
    assert pg.psql(db, "SELECT version FROM storage_users_00_7f.schema_migrations").stdout.split() == ["1"]
    system = dep.ocis(
        "storage-system", "migrate", env={"STORAGE_SYSTEM_METADATA": "postgres", "OCIS_POSTGRES_DSN": dsn}
    )
    assert system.returncode == 0 and "applied storage_system 1" in system.stdout, system

    sqlite = dep.ocis("storage-users", "migrate")
    assert sqlite.returncode == 2 and "metadata is sqlite" in sqlite.stderr, sqlite
    no_dsn = dep.ocis("storage-users", "migrate", env={"STORAGE_USERS_METADATA": "postgres"})
    assert no_dsn.returncode == 2 and "STORAGE_USERS_POSTGRES_DSN" in no_dsn.stderr, no_dsn
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    unreachable = dep.ocis("storage-users", "migrate", env=on(nobody))
    assert unreachable.returncode == 2 and "PostgreSQL at 127.0.0.1:" in unreachable.stderr, unreachable
    assert "Traceback" not in unreachable.stderr


def test_overlapping_ranges_and_a_second_live_instance_are_refused(pg: Postgres) -> None:
    dsn = pg.new_database()
    with deployment() as a, deployment() as b:  # two hosts' data dirs: only the database is shared
        first = a.start_extension("storage-users", env=on(dsn, "00-7f"))
        overlap = b.ocis("storage-users", "server", env=on(dsn, "40-ff"))
        assert overlap.returncode == 2, overlap
        assert "storage_users_40_ff" in overlap.stderr and "storage_users_00_7f" in overlap.stderr
        other_half = b.start_extension("storage-users", env=on(dsn, "80-ff"))
        other_half.stop()

        twin = b.ocis("storage-users", "server", env=on(dsn, "00-7f"))
        assert twin.returncode == 1 and "another live instance" in twin.stderr, twin  # supervisord restarts it
        first.kill()  # SIGKILL: its session, and the lock, go with its connection
        b.start_extension("storage-users", env=on(dsn, "00-7f"))  # the restart gets the schema


@pytest.fixture(scope="module")
def stack(pg: Postgres) -> Iterator[tuple[Deployment, webdav_stack.DavStack]]:
    """The WebDAV stack through the proxy, in one runtime, with storage-users' metadata on PostgreSQL."""
    with deployment() as d:
        yield d, webdav_stack.start(d, env=on(pg.new_database()), proxied=True)


def test_litmus_passes_with_metadata_on_postgres(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    tools.require("litmus")
    assert_litmus_passes(*stack)


def test_postgres_away_is_503_and_back_is_business_as_usual(
    stack: tuple[Deployment, webdav_stack.DavStack], pg: Postgres
) -> None:
    dav = stack[1]
    assert dav.request("MKCOL", "outage").status == 201
    assert dav.request("PUT", "outage/kept.txt", b"kept").status == 201
    pg.stop()
    try:
        assert dav.request("PROPFIND", "outage", headers={"Depth": "1"}).status == 503
        assert dav.request("GET", "outage/kept.txt").status == 503
        assert dav.request("PUT", "outage/new.txt", b"new").status == 503
    finally:
        pg.start()
    wait_until(lambda: dav.request("PROPFIND", "outage", headers={"Depth": "1"}).status == 207, 60, what="back")
    assert dav.request("GET", "outage/kept.txt").body == b"kept"
    assert dav.request("PUT", "outage/new.txt", b"new").status == 201
    assert dav.request("GET", "outage/new.txt").body == b"new"
