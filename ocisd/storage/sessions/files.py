"""Upload-session bytes on local disk: one folder per session under `uploads/`.

A folder holds `data` (bytes appended at offsets) and `chunks/` (named chunks,
each written to a temp file, fsynced and renamed, so a chunk is whole or absent),
and `assembled`, the chunks joined (by `assembly`), with `joined`, its
journal: a chunk written straight into `assembled` has no file of its own and
is listed from the journal (see `journal`).
Bytes past a session's recorded offset come from a write that was never
answered; they are cut off before the next append.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

from ocisd.api.storage.v1 import errors
from ocisd.storage.writeback import fsync_dir

from .journal import PART, Piece, listing


class SessionFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def folder(self, session_id: str) -> Path:
        # Hashed: ids are safe names already, but a fixed-length name needs no further thought.
        return self.root / hashlib.sha256(session_id.encode()).hexdigest()[:32]

    def create(self, session_id: str) -> None:
        folder = self.folder(session_id)
        shutil.rmtree(folder, ignore_errors=True)  # left by an expired namesake
        (folder / "chunks").mkdir(parents=True, mode=0o700)
        (folder / "data").touch(mode=0o600)
        fsync_dir(folder)
        fsync_dir(self.root)

    def remove(self, session_id: str) -> None:
        shutil.rmtree(self.folder(session_id), ignore_errors=True)

    def sweep(self, live: set[str]) -> int:
        """At start: remove folders of sessions without a record and chunk temp files; returns how many."""
        keep = {self.folder(sid).name for sid in live}
        count = 0
        for entry in os.scandir(self.root):
            if not entry.is_dir():
                continue
            if entry.name not in keep:
                shutil.rmtree(entry.path, ignore_errors=True)
                count += 1
                continue
            for part in Path(entry.path, "chunks").glob(f"*{PART}"):
                part.unlink(missing_ok=True)
                count += 1
        return count

    def open_at(self, session_id: str, offset: int) -> int:
        """`data` opened for writing at `offset`, dropping any unanswered bytes after it."""
        try:
            fd = os.open(self.folder(session_id) / "data", os.O_WRONLY)
        except FileNotFoundError:
            raise errors.not_found("no such upload session") from None
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        return fd

    def chunks(self, session_id: str) -> list[tuple[str, int, int]]:
        """(name, size, mtime ns) of the named chunks, in name order."""
        return [(name, size, mtime) for name, size, _, mtime in self.pieces(session_id)]

    def pieces(self, session_id: str) -> list[Piece]:
        """(name, size, inode, mtime ns) of the named chunks, in name order."""
        return listing(self.folder(session_id))

    def open_chunk(self, session_id: str) -> tuple[int, Path]:
        """A temp file for one chunk in the session's folder."""
        path = self.folder(session_id) / "chunks" / f".{secrets.token_hex(8)}{PART}"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path
        except FileNotFoundError:
            raise errors.not_found("no such upload session") from None

    def place_chunk(self, tmp: Path, name: str) -> bool:
        """Rename a complete, fsynced chunk into place durably; True if it is new."""
        target = tmp.parent / name
        created = all(p[0] != name for p in listing(tmp.parent.parent))  # a file or a directly joined chunk
        os.rename(tmp, target)
        fsync_dir(tmp.parent)
        return created

    def data(self, session_id: str, offset: int) -> Path:
        """The appended bytes, cut to `offset`."""
        os.close(self.open_at(session_id, offset))
        return self.folder(session_id) / "data"

    def stage(self, source: Path, rev: str) -> Path:
        """A second name for `source` that a commit may rename away, keeping the session's own."""
        link = source.parent / f"commit-{rev}"
        link.unlink(missing_ok=True)
        os.link(source, link)
        return link
