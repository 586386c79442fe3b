"""Start writing bytes to disk while the rest still arrives, and make directory entries durable.

Without a nudge the kernel leaves freshly written pages dirty for seconds, so
the fsync that must precede an upload's answer would write the whole file
while the client waits. Asking for writeback of each completed stretch
(`sync_file_range(SYNC_FILE_RANGE_WRITE)`: start, do not wait) overlaps the
disk with the network; the final fsync then waits for the tail only. It does
not replace that fsync: durability still comes from it. Where libc lacks the
call (not Linux/glibc) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path

IOV_MAX = 1024  # pieces per writev (the Linux limit)
EVERY = 8 << 20  # bytes per writeback request: large enough to be one efficient disk write
SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        func = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    func.restype = ctypes.c_int
    start: Callable[[int, int, int, int], int] = func
    return start


_start = _sync_file_range()


def write_pieces(fd: int, pieces: Sequence[bytes]) -> int:
    """Write all `pieces` in order with as few writev calls as the kernel allows; the bytes written."""
    views = [memoryview(p) for p in pieces]
    total = 0
    while views:
        n = os.writev(fd, views[:IOV_MAX])
        total += n
        while views and n >= len(views[0]):
            n -= len(views.pop(0))
        if n:
            views[0] = views[0][n:]
    return total


class Writer:
    """Writes pieces to one file at its current position and starts writeback behind them.

    Call `write` from one thread at a time (a lane or `to_thread`): it blocks.
    """

    def __init__(self, fd: int, offset: int = 0) -> None:
        self._fd = fd
        self.end = offset  # the file position after the last write
        self._started = offset  # everything before this was asked to be written to disk

    def write(self, pieces: Sequence[bytes]) -> int:
        n = write_pieces(self._fd, pieces)
        self.end += n
        if _start is not None and self.end - self._started >= EVERY:
            _start(self._fd, self._started, self.end - self._started, SYNC_FILE_RANGE_WRITE)  # fsync reports errors
            self._started = self.end
        return n


def fsync_dir(d: Path) -> None:
    """Make a rename or a new entry in `d` durable."""
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
