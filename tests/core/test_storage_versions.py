"""Versions in the local driver, in-process on a real database and blob dir: what overwrites keep,
what restore, MOVE/COPY onto a file and delete do with them, retention on a fake clock, quota."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from ocisd.config.schema import Size
from ocisd.sql import Engine
from ocisd.storage.local import versions
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Node, Ref, UploadOptions
from ocisd.storage.service.config import StorageConfig
from tests.support.metadata import BACKENDS, storage_engine

SPACE = "s"
HOUR = versions.HOUR
DAY = versions.DAY


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000 * 10**9

    def __call__(self) -> int:
        return self.now


async def put(driver: LocalDriver, path: str, data: bytes) -> Node:
    sink = await driver.open_upload()
    await sink.write(data)
    node, _ = await driver.commit_upload(Ref(SPACE, path), UploadOptions(size=len(data)), sink)
    return node


async def content(driver: LocalDriver, path: str, key: str = "") -> bytes:
    ref = Ref(SPACE, path)
    _, blob = await (driver.download_version(ref, key) if key else driver.download(ref))
    return blob.read_bytes() if blob else b""


def blob_count(tmp_path: Path) -> int:
    return sum(1 for p in (tmp_path / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp")


ENGINE: list[Engine] = []  # the PostgreSQL engine of the test running on the postgres backend


@pytest.fixture(autouse=True, params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.param
        return
    with storage_engine(request.getfixturevalue("postgres")) as engine:
        ENGINE.append(engine)
        try:
            yield request.param
        finally:
            ENGINE.clear()


def run(
    tmp_path: Path, scenario: Callable[[LocalDriver, Clock], Awaitable[None]], keep: bool = True, **settings: object
) -> None:
    async def main() -> None:
        driver = LocalDriver(StorageConfig(**settings), tmp_path)  # type: ignore[arg-type]
        driver.sql = ENGINE[0] if ENGINE else None
        driver.keep_versions = keep  # what OCIS_DISABLE_VERSIONING turns off
        await driver.open()
        assert (tmp_path / "metadata.db").exists() is (driver.sql is None)
        clock = Clock()
        driver.policy = dataclasses.replace(driver.policy, clock=clock)
        await driver.ensure_space(SPACE, "owner")
        try:
            await scenario(driver, clock)
        finally:
            await driver.close()

    asyncio.run(main())


def test_ten_overwrites_keep_nine_versions_and_the_third_restores(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        for i in range(1, 11):
            await put(driver, "/f.txt", f"revision {i}".encode())
            clock.now += 60 * 10**9
        node, kept = await driver.list_versions(Ref(SPACE, "/f.txt"))
        assert len(kept) == 9 and [v.size for v in kept] == [10] * 8 + [10]
        assert [await content(driver, "/f.txt", v.key) for v in kept][::-1] == [
            f"revision {i}".encode() for i in range(1, 10)
        ]
        assert all(v.edited_by == "owner" and v.sha1 and v.etag for v in kept)
        third = kept[-3]
        restored = await driver.restore_version(Ref(SPACE, "/f.txt"), third.key, ())
        assert await content(driver, "/f.txt") == b"revision 3"
        assert restored.id == node.id and restored.etag not in (node.etag, third.etag)
        assert (restored.sha1, restored.mtime) == (third.sha1, third.mtime)
        _, after = await driver.list_versions(Ref(SPACE, "/f.txt"))
        assert third.key not in {v.key for v in after} and after[0].etag == node.etag  # the current one is kept
        assert len(after) == 9 and blob_count(tmp_path) == 10
        assert driver._db.writer_db.execute("SELECT COUNT(*) FROM blob_gc").fetchone()[0] == 0

    run(tmp_path, scenario)


def test_move_or_copy_onto_a_file_hands_its_history_to_the_newcomer_and_purge_drops_it(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        await put(driver, "/a", b"a1")
        await put(driver, "/a", b"a2")
        await put(driver, "/b", b"b1")
        await driver.move(Ref(SPACE, "/b"), Ref(SPACE, "/a"), True, (), 0)
        _, kept = await driver.list_versions(Ref(SPACE, "/a"))
        assert [await content(driver, "/a", v.key) for v in kept] == [b"a2", b"a1"]
        await put(driver, "/c", b"c1")
        await driver.copy(Ref(SPACE, "/c"), Ref(SPACE, "/a"), True, (), False, 0)
        _, kept = await driver.list_versions(Ref(SPACE, "/a"))
        assert sorted([await content(driver, "/a", v.key) for v in kept]) == [b"a1", b"a2", b"b1"]
        assert blob_count(tmp_path) == 5  # a (= c's copy), c, three versions
        await driver.delete(Ref(SPACE, "/a"), (), "")
        assert blob_count(tmp_path) == 5  # in the trash bin, versions and all
        assert await driver.purge_trash(SPACE, "") == 1
        assert blob_count(tmp_path) == 1
        assert driver._db.writer_db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0

    run(tmp_path, scenario)


def test_the_ladder_thins_versions_with_age_on_a_fake_clock() -> None:
    policy = versions.Policy()
    now = 1000 * versions.WEEK
    ages = [0, 10 * 60, 50 * 60, 70 * 60, 80 * 60, 3 * 3600 + 5, 30 * 3600, 40 * 3600, 50 * 3600, 40 * 86400]
    ages += [41 * 86400, 60 * 86400]
    pairs = [(f"k{a}", now - a * 10**9) for a in ages]
    dropped = set(versions.expired(pairs, now, policy))
    # all of the last hour; 70 and 80 min share hour 1 (the newer stays); 30 h and 40 h are different days
    # (day 1), 50 h is day 2; 40 and 41 days share week 5; 60 days is week 8.
    assert dropped == {"k4800", "k144000", "k3542400"}
    assert set(versions.expired(pairs, now, dataclasses.replace(policy, ladder=False))) == set()
    capped = versions.expired(pairs, now, dataclasses.replace(policy, ladder=False, max_count=3))
    assert set(capped) == {k for k, _ in pairs[3:]}


def test_retention_runs_on_each_overwrite_with_the_drivers_clock(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        for _ in range(6):  # six revisions, ten minutes apart
            await put(driver, "/f", b"x")
            clock.now += 10 * 60 * 10**9
        _, kept = await driver.list_versions(Ref(SPACE, "/f"))
        assert len(kept) == 5  # all in the last hour
        clock.now += 2 * DAY  # now they are all in one day's bucket: the newest stays
        await put(driver, "/f", b"y")
        _, kept = await driver.list_versions(Ref(SPACE, "/f"))
        assert len(kept) == 2 and kept[0].created == clock.now
        assert blob_count(tmp_path) == 3

    run(tmp_path, scenario)


def test_versions_max_caps_each_file(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        for i in range(5):
            await put(driver, "/f", bytes([i]))
        _, kept = await driver.list_versions(Ref(SPACE, "/f"))
        assert [await content(driver, "/f", v.key) for v in kept] == [b"\x03", b"\x02"]
        assert blob_count(tmp_path) == 3

    run(tmp_path, scenario, versions_max=2)


def test_versions_off_drop_old_revisions_as_before(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        await put(driver, "/f", b"1")
        await put(driver, "/f", b"2")
        assert (await driver.list_versions(Ref(SPACE, "/f")))[1] == []
        assert blob_count(tmp_path) == 1

    run(tmp_path, scenario, keep=False)


def test_counted_versions_yield_oldest_first_when_a_write_needs_room(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        await put(driver, "/f", b"a" * 40)
        clock.now += 1
        await put(driver, "/f", b"b" * 40)
        clock.now += 1
        await put(driver, "/g", b"c" * 10)
        assert await driver.quota(SPACE) == (100, 90)  # 50 in files, 40 in the version
        clock.now += 1
        await put(driver, "/f", b"d" * 40)  # files 50 + versions 80 > 100: the oldest goes
        _, kept = await driver.list_versions(Ref(SPACE, "/f"))
        assert [await content(driver, "/f", v.key) for v in kept] == [b"b" * 40]
        assert await driver.quota(SPACE) == (100, 90)
        with pytest.raises(Exception, match="quota"):
            await put(driver, "/h", b"e" * 51)  # versions yield to files, files never to versions

    run(tmp_path, scenario, quota=Size(100), versions_count_quota=True)


def test_uncounted_versions_leave_the_quota_alone(tmp_path: Path) -> None:
    async def scenario(driver: LocalDriver, clock: Clock) -> None:
        for data in (b"a" * 60, b"b" * 60, b"c" * 60):
            await put(driver, "/f", data)
        assert await driver.quota(SPACE) == (100, 60)
        assert len((await driver.list_versions(Ref(SPACE, "/f")))[1]) == 2

    run(tmp_path, scenario, quota=Size(100))


def test_a_restore_interrupted_before_its_commit_leaves_the_old_state(tmp_path: Path) -> None:
    """The restore's link is listed as garbage before it is made: start-up removes it, the file is unchanged."""

    async def first(driver: LocalDriver, clock: Clock) -> None:
        await put(driver, "/f", b"old")
        await put(driver, "/f", b"new")
        key = (await driver.list_versions(Ref(SPACE, "/f")))[1][0].key

        def crash(*args: object) -> None:
            raise SystemExit("killed")

        driver._blobs.sync_dirs = crash  # type: ignore[method-assign]  # dies right after the link
        with pytest.raises(SystemExit):
            await driver.restore_version(Ref(SPACE, "/f"), key, ())
        assert blob_count(tmp_path) == 3

    async def after(driver: LocalDriver, clock: Clock) -> None:
        assert await content(driver, "/f") == b"new" and blob_count(tmp_path) == 2
        assert len((await driver.list_versions(Ref(SPACE, "/f")))[1]) == 1

    run(tmp_path, first)
    run(tmp_path, after)
