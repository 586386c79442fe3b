"""The durable record of a session's join: which chunks `assembled` holds, in order.

One line per joined chunk, `name size inode mtime_ns`, appended (and fsynced)
only after the chunk's bytes in `assembled` are durable, so the lines always
describe a prefix of the file. A chunk written straight into `assembled` (it
continued the joined bytes when it arrived) has inode 0: its bytes live
nowhere else, and the session lists it from here. A torn last line (a crash
while appending) is not a record. Cutting the join back truncates the lines.
"""

from __future__ import annotations

import os
from pathlib import Path

from ocisd.storage.writeback import fsync_dir

JOURNAL = "joined"
PART = ".part"  # a chunk (or copy) being written: never listed, swept at start
# (name, size, inode, mtime ns): a chunk as it was joined; a replaced chunk differs. Inode 0: joined directly.
Piece = tuple[str, int, int, int]


def _line(piece: Piece) -> bytes:
    return (" ".join(map(str, piece)) + "\n").encode()


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[Piece]:
        """The complete records, in order."""
        try:
            text = self.path.read_bytes().decode()
        except FileNotFoundError:
            return []
        pieces: list[Piece] = []
        for line in text.split("\n")[:-1]:  # the part after the last newline is torn
            name, size, ino, mtime = line.split(" ")
            pieces.append((name, int(size), int(ino), int(mtime)))
        return pieces

    def append(self, piece: Piece) -> None:
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, _line(piece))
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)

    def cut(self, keep: list[Piece]) -> None:
        """Keep only the records of `keep` (a prefix of them), durably."""
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            os.ftruncate(fd, sum(len(_line(p)) for p in keep))
            os.fdatasync(fd)
        finally:
            os.close(fd)


def listing(folder: Path) -> list[Piece]:
    """A session's named chunks in name order: its chunk files, and the directly joined chunks
    (from the journal) that no chunk file of the same name replaced."""
    try:
        stats = {e.name: e.stat() for e in os.scandir(folder / "chunks") if not e.name.endswith(PART)}
    except FileNotFoundError:
        return []
    files = [(name, st.st_size, st.st_ino, st.st_mtime_ns) for name, st in stats.items()]
    direct = [p for p in Journal(folder / JOURNAL).read() if p[2] == 0 and p[0] not in stats]
    return sorted(files + direct)
