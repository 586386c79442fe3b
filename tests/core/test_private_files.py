"""Every file ocisd creates is its user's alone: 0600 files in 0700 directories (the umask of every ocisd process)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support import webdav_stack
from tests.support.harness import Deployment


def _modes(root: Path) -> dict[str, int]:
    """Every path under `root` (itself included) with its permission bits."""
    found = {str(root): stat.S_IMODE(root.lstat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path)] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _exposed(dep: Deployment) -> dict[str, str]:
    modes = {**_modes(dep.config_dir), **_modes(dep.data_dir)}
    want = {p: 0o700 if Path(p).is_dir() else 0o600 for p in modes}
    return {p: f"{oct(m)} (want {oct(want[p])})" for p, m in modes.items() if m != want[p]}


def test_files_of_a_runtime_that_served_webdav_are_private(dep: Deployment) -> None:
    dav = webdav_stack.start(dep, proxied=True)
    assert dav.request("MKCOL", "folder").status == 201
    assert dav.request("PUT", "folder/big.bin", os.urandom(3 * 1024 * 1024)).status == 201
    assert dav.request("PUT", "small.txt", b"hello").status == 201
    assert dav.request("GET", "folder/big.bin").status == 200
    files = list(_modes(dep.data_dir))
    for made in ("users/users.db-wal", "storage-users/metadata.db-shm", "storage-users/uploads", "proxy/server.crt"):
        assert str(dep.data_dir / made) in files
    assert _exposed(dep) == {}  # while it runs: SQLite's -wal and -shm included
    dep.procs[-1].stop()
    assert _exposed(dep) == {}
