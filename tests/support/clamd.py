"""A real clamd for the tests: its own config, socket and signature database in a short temp dir.

ClamAV's public signatures cannot be downloaded here, so the database is one `.hdb`
line the test writes for the EICAR test file (`<md5>:<size>:Eicar-Test-Signature`);
clamd starts with it alone. It runs in the foreground, answers PING before a test
uses it, and is stopped by PID (SIGTERM, a bounded wait, then SIGKILL); a test may
stop and start it again (clamd down), choose its StreamMaxLength and add settings.
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.harness import free_port, stop_popen, wait_until
from tests.support.tools import require

# The EICAR anti-virus test file: harmless, and every scanner reports it.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
START_TIMEOUT = 60.0  # loading even a one-line database takes seconds on a busy machine


def ping(address: str, timeout: float = 2.0) -> bool:
    """Whether the clamd at a unix socket path answers zPING with PONG."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(b"zPING\0")
        return s.recv(64).rstrip(b"\0") == b"PONG"


class Clamd:
    """One clamd process; `address` is its unix socket, `tcp_address` its tcp://127.0.0.1:port (if asked)."""

    def __init__(
        self, root: Path, tcp: bool = False, stream_max_length: str = "100M", extra: Sequence[str] = ()
    ) -> None:
        self.root = root
        self.address = str(root / "clamd.sock")  # a short root keeps it under 108 bytes
        self.tcp_address = f"tcp://127.0.0.1:{free_port()}" if tcp else ""
        self.log = root / "clamd.log"
        self._popen: subprocess.Popen[bytes] | None = None
        db = root / "db"
        db.mkdir()
        (db / "eicar.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n")
        lines = [
            "Foreground yes",
            f"LocalSocket {self.address}",
            f"DatabaseDirectory {db}",
            f"TemporaryDirectory {root}",
            f"LogFile {self.log}",
            "LogTime yes",
            f"StreamMaxLength {stream_max_length}",
            "SelfCheck 0",  # never reload the database behind the test's back
            *extra,
        ]
        if tcp:
            port = self.tcp_address.rsplit(":", 1)[1]
            lines += ["TCPAddr 127.0.0.1", f"TCPSocket {port}"]
        self.conf = root / "clamd.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None and self._popen.poll() is None else None

    def start(self) -> None:
        assert self.pid is None, "clamd is running"
        out = open(self.root / "clamd.out", "ab")
        self._popen = subprocess.Popen(
            [require("clamd"), "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        popen = self._popen

        def answers() -> bool:
            if popen.poll() is not None:
                raise AssertionError(f"clamd exited {popen.returncode}:\n{self.output()}")
            return ping(self.address)

        wait_until(answers, START_TIMEOUT, interval=0.2, what="clamd answering PING")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; by PID, never by name."""
        popen, self._popen = self._popen, None
        stop_popen(popen, signal.SIGTERM, timeout)

    def output(self) -> str:
        parts = (p.read_text(errors="replace") for p in (self.root / "clamd.out", self.log) if p.exists())
        return "\n".join(parts)[-4000:]


@contextmanager
def running_clamd(tcp: bool = False, stream_max_length: str = "100M", extra: Sequence[str] = ()) -> Iterator[Clamd]:
    """A started clamd (`extra`: more clamd.conf lines), stopped and its directory removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="cl-", dir="/tmp"))
    clamd = Clamd(root, tcp=tcp, stream_max_length=stream_max_length, extra=extra)
    try:
        clamd.start()
        yield clamd
    finally:
        with suppress(Exception):
            clamd.stop()
        shutil.rmtree(root, ignore_errors=True)
