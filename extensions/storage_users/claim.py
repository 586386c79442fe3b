"""One storage process per data dir: a second one would delete the first one's uploads in
progress (temp clean-up at start) and race it on the blobs. An advisory `flock` held for
the extension's life says who owns the dir; the kernel drops it if the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DataDirClaim:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "storage.lock"
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            # Not a ConfigError: during a restart the old process may still be on its way out.
            raise RuntimeError(f"{self.path.parent}: another storage process uses this data dir") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
