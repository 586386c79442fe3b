"""The trash bin in storage: retention with a fake clock, and SIGKILL of storage-users during a
restore or a purge leaves either the old or the new state (nothing half done, no blob lost or left)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from extensions.storage_users.config import StorageUsersConfig
from ocisd import identity
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.service.trash_purge import TrashPurger
from tests.support.harness import wait_until
from tests.support.storage_stack import Stack, blob_files, bulk_create, reason, ref, running_stack, start_storage

DAY = 86400.0
SPACE = "alice-id"
MANY = 20_000  # a restore or purge of this many nodes is one long transaction to kill storage-users in


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _put(driver: LocalDriver, path: str, data: bytes) -> None:
    sink = await driver.open_upload()
    await sink.write(data)
    await driver.commit_upload(Ref(space=SPACE, path=path), UploadOptions(size=len(data)), sink)


def test_purge_expired_follows_the_retention_with_a_fake_clock(tmp_path: Path) -> None:
    async def run() -> None:
        clock = Clock(1_000_000.0)
        driver = LocalDriver(StorageUsersConfig(), tmp_path)
        driver.clock = clock
        await driver.open()
        try:
            await driver.ensure_space(SPACE, "alice")
            await _put(driver, "/old.txt", b"old")
            await _put(driver, "/new.txt", b"new")
            old = await driver.stat(Ref(space=SPACE, path="/old.txt"))
            await driver.delete(Ref(space=SPACE, path="/old.txt"), (), "", "alice")
            for hidden in (driver.stat(Ref(space=SPACE, path="/", node=old.id)), driver.stat(Ref(SPACE, "/old.txt"))):
                with pytest.raises(errors.StorageError) as exc:
                    await hidden
                assert exc.value.kind == errors.Kind.NOT_FOUND
            assert [n.name for n in (await driver.list_folder(Ref(SPACE, "/"), "", 10))[1]] == ["new.txt"]
            assert [n.name for n in (await driver.search(Ref(SPACE, "/"), "", False, 10, 0))[0]] == ["new.txt"]
            (item,) = await driver.trash_items(SPACE)
            assert (item.node.id, item.node.path, item.deleted, item.deleted_by) == (
                old.id,
                "/old.txt",
                clock.now,
                "alice",
            )
            clock.now += 10 * DAY
            await driver.delete(Ref(space=SPACE, path="/new.txt"), (), "", "alice")
            purger = TrashPurger(driver, 30 * DAY, clock)
            blobs = tmp_path / "blobs"
            assert len([p for p in blobs.rglob("*") if p.is_file()]) == 2

            clock.now += 20 * DAY - 1  # old.txt is one second short of 30 days
            assert await purger.purge_expired() == 0
            clock.now += 2
            assert await purger.purge_expired() == 1
            assert [i.node.name for i in await driver.trash_items(SPACE)] == ["new.txt"]
            assert len([p for p in blobs.rglob("*") if p.is_file()]) == 1  # old.txt's bytes are freed
            assert (await driver.quota(SPACE))[1] == len(b"new")
            clock.now += 10 * DAY
            assert await purger.purge_expired() == 1
            assert await driver.trash_items(SPACE) == []
            assert await TrashPurger(driver, 0, clock).purge_expired() == 0  # 0 keeps items until purged by hand
        finally:
            await driver.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def restart_storage(stack: Stack) -> None:
    stack.storage = start_storage(stack.dep, stack.storage_env)
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway reaches the restarted storage")


def trash_keys(stack: Stack) -> list[str]:
    return [i.key for i in stack.call("ListTrash", pb.ListTrashRequest()).items]


def kill_during(stack: Stack, method: str, request: object, when: str) -> None:
    """Send the call, SIGKILL storage-users while it writes (or right after it answered), start it again."""
    future = getattr(stack.stub, method).future(request, metadata=[(identity.GRPC_METADATA, stack.token())], timeout=60)
    if when == "after-answer":
        future.result()
    else:
        wal = stack.dep.data_dir / "storage-users" / "metadata.db-wal"
        size = wal.stat().st_size if wal.exists() else 0
        # Bounded polling: until the transaction starts writing the WAL, or the call is over.
        wait_until(lambda: future.done() or (wal.exists() and wal.stat().st_size != size), 60, 0.001, what="a write")
    stack.storage.kill()
    try:
        future.result()
    except grpc.RpcError:
        pass
    restart_storage(stack)


def big_trashed_folder(stack: Stack, name: str) -> str:
    stack.mkdir(f"/{name}")
    assert stack.upload(f"/{name}/real.bin", b"bytes that have a blob").status == 201
    bulk_create(stack, f"/{name}", [f"f{i:05d}" for i in range(MANY)])
    stack.call("Delete", pb.DeleteRequest(ref=ref(f"/{name}")))
    (key,) = [i.key for i in stack.call("ListTrash", pb.ListTrashRequest()).items if i.original_path == f"/{name}"]
    return key


@pytest.mark.parametrize("when", ["mid-call", "after-answer"])
def test_sigkill_during_a_restore_leaves_the_old_or_the_new_state(stack: Stack, when: str) -> None:
    name = f"/restoring-{when}"
    key = big_trashed_folder(stack, name[1:])
    blobs = len(blob_files(stack))
    used = stack.call("GetQuota", pb.GetQuotaRequest()).used
    kill_during(stack, "RestoreTrashItem", pb.RestoreTrashItemRequest(key=key, destination=ref(name)), when)
    if key in trash_keys(stack):  # the old state: nothing of it in the live tree
        with pytest.raises(grpc.RpcError) as exc:
            stack.stat(name)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        stack.call("RestoreTrashItem", pb.RestoreTrashItemRequest(key=key, destination=ref(name)))
    page = stack.call("ListContainer", pb.ListContainerRequest(ref=ref(name), page_size=5000))
    assert page.next_page_token and page.infos[0].name == "f00000"
    assert stack.download(f"{name}/real.bin").body == b"bytes that have a blob"
    assert (len(blob_files(stack)), stack.call("GetQuota", pb.GetQuotaRequest()).used) == (blobs, used)
    assert key not in trash_keys(stack)


@pytest.mark.parametrize("when", ["mid-call", "after-answer"])
def test_sigkill_during_a_purge_leaves_the_old_or_the_new_state(stack: Stack, when: str) -> None:
    name = f"/purging-{when}"
    key = big_trashed_folder(stack, name[1:])
    blobs = len(blob_files(stack))
    kill_during(stack, "PurgeTrash", pb.PurgeTrashRequest(key=key), when)
    if key in trash_keys(stack):  # the old state: still whole, and it can be restored
        assert len(blob_files(stack)) == blobs
        stack.call("RestoreTrashItem", pb.RestoreTrashItemRequest(key=key, destination=ref(name)))
        assert stack.download(f"{name}/real.bin").body == b"bytes that have a blob"
        stack.call("Delete", pb.DeleteRequest(ref=ref(name)))
        stack.call("PurgeTrash", pb.PurgeTrashRequest(key=key))
    assert key not in trash_keys(stack)
    assert len(blob_files(stack)) == blobs - 1  # the purged blob is gone (after the restart at the latest)
    with pytest.raises(grpc.RpcError) as exc:
        stack.call("RestoreTrashItem", pb.RestoreTrashItemRequest(key=key, destination=ref(name)))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND and reason(exc.value) == "not-found"


def test_the_purge_runs_inside_storage_users(stack: Stack) -> None:
    """At start (then hourly) storage-users purges what its retention lets go."""
    assert stack.upload("/short-lived.txt", b"soon gone").status == 201
    stack.call("Delete", pb.DeleteRequest(ref=ref("/short-lived.txt")))
    assert stack.call("ListTrash", pb.ListTrashRequest()).items
    stack.storage.stop()
    stack.storage_env = {"STORAGE_USERS_TRASH_RETENTION": "1ms"}
    restart_storage(stack)
    wait_until(lambda: not stack.call("ListTrash", pb.ListTrashRequest()).items, what="the bin purged")
