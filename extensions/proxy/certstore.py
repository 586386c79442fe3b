"""The ACME state in the proxy's data dir, shared by every proxy instance on the host.

`acme/` holds the account key, the issued certificate (private key and full
chain in one file, so a reader never sees a key from one order beside a chain
from another), the HTTP-01 answers any instance's challenge listener serves,
a renewal request left by `ocis proxy certificate --renew`, the outcome of the
last order, and the lock that lets only one instance order at a time. Every
file is written 0600 to a temporary name, fsynced and renamed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ACME_DIR = "acme"
# RFC 8555 §8.3: a token is base64url; anything else in a URL path is not ours to look up.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, readable by this user only (a temp file fsynced and renamed)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class CertStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / ACME_DIR
        self.account_key = self.root / "account.key"
        self.certificate = self.root / "certificate.pem"
        self.renew_request = self.root / "renew-requested"
        self.status = self.root / "status.json"
        self._challenges = self.root / "challenges"

    def ensure(self) -> None:
        self._challenges.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(self, path: Path, data: bytes) -> None:
        write_private(path, data)

    def read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held while ordering: another instance (or process) waits and then finds the new certificate."""
        self.ensure()
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def put_challenge(self, token: str, answer: bytes) -> None:
        if not _TOKEN.match(token):
            raise ValueError(f"the CA sent an unusable challenge token {token!r}")
        self.ensure()
        self.write(self._challenges / token, answer)

    def drop_challenge(self, token: str) -> None:
        if _TOKEN.match(token):
            self.remove(self._challenges / token)

    def challenge(self, token: str) -> bytes | None:
        return self.read(self._challenges / token) if _TOKEN.match(token) else None

    def read_status(self) -> dict[str, Any]:
        raw = self.read(self.status)
        try:
            status = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return status if isinstance(status, dict) else {}

    def write_status(self, **status: Any) -> None:
        self.ensure()
        self.write(self.status, json.dumps(status).encode())
