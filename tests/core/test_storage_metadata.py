"""Storage metadata guarantees on both backends, in-process: a commit and its propagation to the
root are one transaction, so no snapshot ever sees a file without its ancestors' new etag and size."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ocisd.sql import Engine
from ocisd.storage.local import tree
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import FILE, Ref, UploadOptions
from ocisd.storage.service.config import StorageConfig

SPACE = "s"
UPLOADS = 25


def test_no_snapshot_sees_a_file_without_its_propagation(tmp_path: Path, metadata_engine: Engine | None) -> None:
    asyncio.run(_uploads_under_observation(tmp_path, metadata_engine))


def _look(db: Any) -> tuple[tuple[str, ...], tuple[int, ...], frozenset[tuple[str, int]]]:
    """In one snapshot: the etags and sizes of /, /a, /a/b and the files below."""
    chain = [tree.get(db, SPACE)]
    for name in ("a", "b"):
        parent = chain[-1]
        assert parent is not None
        chain.append(tree.child(db, parent.id, name))
    files = db.execute("SELECT name, size FROM nodes WHERE space=? AND type=?", (SPACE, FILE)).fetchall()
    return tuple(n.etag for n in chain if n), tuple(n.size for n in chain if n), frozenset(map(tuple, files))


async def _uploads_under_observation(tmp_path: Path, engine: Engine | None) -> None:
    driver = LocalDriver(StorageConfig(), tmp_path)
    driver.sql = engine
    await driver.open()
    try:
        await driver.ensure_space(SPACE, "owner")
        await driver.mkdir(Ref(SPACE, "/a"), (), 0)
        await driver.mkdir(Ref(SPACE, "/a/b"), (), 0)
        seen: list[tuple[tuple[str, ...], tuple[int, ...], frozenset[tuple[str, int]]]] = []
        done = asyncio.Event()

        async def observe() -> None:
            while not done.is_set():
                seen.append(await driver._db.read(_look))

        async def upload() -> None:
            for i in range(UPLOADS):
                before = await driver._db.read(_look)
                sink = await driver.open_upload()
                await sink.write(b"x" * (i + 1))
                await driver.commit_upload(Ref(SPACE, f"/a/b/f{i}"), UploadOptions(size=i + 1), sink)
                after = await driver._db.read(_look)
                assert all(old != new for old, new in zip(before[0], after[0])), "every ancestor gets a new etag"
            done.set()

        await asyncio.gather(observe(), upload())
        assert len({s[2] for s in seen}) > 1, "the observer saw uploads land"
        for _, sizes, files in seen:
            total = sum(size for _, size in files)
            assert sizes == (total, total, total), "sizes propagate in the file's own transaction"
        for (etags1, _, files1), (etags2, _, files2) in zip(seen, seen[1:]):
            assert (files1 == files2) is (etags1 == etags2), "a new file and its etags appear together"
    finally:
        await driver.close()
