"""The storage-driver extension point and the local driver's crash recovery, in-process."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import pytest

from ocisd.config.schema import ConfigError
from ocisd.sql import Engine
from ocisd.storage.driver import load
from ocisd.storage.local import garbage, tree
from ocisd.storage.local.database import transaction
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.service.config import StorageConfig
from tests.support.metadata import BACKENDS, storage_engine


class ThirdPartyDriver(LocalDriver):
    """What a third party ships: a Base subclass named by `module:Class`."""


def config(driver: str) -> StorageConfig:
    return StorageConfig(driver=driver)


def test_a_driver_is_picked_by_name_or_module_path(tmp_path: Path) -> None:
    assert type(load(config("local"), tmp_path)) is LocalDriver
    assert type(load(config(f"{__name__}:ThirdPartyDriver"), tmp_path)) is ThirdPartyDriver
    with pytest.raises(ConfigError, match="unknown driver 'nope'"):
        load(config("nope"), tmp_path)
    with pytest.raises(ConfigError, match="not a storage driver"):
        load(config("pathlib:Path"), tmp_path)
    with pytest.raises(ConfigError, match="cannot load"):
        load(config("no_such_module:Driver"), tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_up_removes_temp_files_and_blobs_of_uncommitted_uploads(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    with ExitStack() as stack:
        engine = (
            stack.enter_context(storage_engine(request.getfixturevalue("postgres"))) if backend != "sqlite" else None
        )
        asyncio.run(_recovery(tmp_path, engine))


async def _recovery(tmp_path: Path, engine: Engine | None) -> None:
    """The same on SQLite and on PostgreSQL metadata (blob_gc is a table of either)."""
    driver = LocalDriver(config("local"), tmp_path)
    driver.sql = engine
    await driver.open()
    await driver.ensure_space("s", "owner")
    sink = await driver.open_upload()
    await sink.write(b"kept")
    node, created = await driver.commit_upload(Ref("s", "/f"), UploadOptions(size=4), sink)
    assert created
    # A crash after an uncommitted upload was placed, and one in the middle of streaming:
    orphan = tree.blob_name(node.id, "deadbeefdeadbeef")
    with transaction(driver._db.writer_db) as db:
        garbage.mark(db, [orphan, tree.blob_name(node.id, node.rev)])
    driver._blobs.path(orphan).write_bytes(b"half")
    (driver._blobs.tmp / "x.part").write_bytes(b"partial")
    await driver.close()

    again = LocalDriver(config("local"), tmp_path)
    again.sql = engine
    await again.open()
    assert not driver._blobs.path(orphan).exists() and list(driver._blobs.tmp.iterdir()) == []
    node2, path = await again.download(Ref("s", "/f"))
    assert path is not None and path.read_bytes() == b"kept" and node2.etag == node.etag
    assert again._db.writer_db.execute("SELECT COUNT(*) FROM blob_gc").fetchone()[0] == 0
    await again.close()
