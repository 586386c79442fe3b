"""A real PostgreSQL 15 for the tests: a throwaway cluster in a short temp dir, run as `postgres`.

PostgreSQL refuses to run as root, so the cluster directory belongs to the `postgres` user
and the server process is started with that user id (`Popen(user=...)`, so the PID we hold
is the postmaster's own). It listens on a free port of the address asked for (loopback by
default, a namespace's address for the multi-host tests) with trust authentication, and is
stopped by PID: SIGINT (fast shutdown), a bounded wait, then SIGKILL. Each test asks for a
database of its own (`new_database`), so one server serves a whole run.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.harness import free_port, stop_popen, wait_until

START_TIMEOUT = 60.0
_names = itertools.count(1)


def bindir() -> Path:
    """Debian's PostgreSQL 15 programs (initdb, postgres, pg_dump, psql)."""
    found = sorted(glob.glob("/usr/lib/postgresql/15/bin/postgres"))
    if not found:
        raise AssertionError("PostgreSQL 15 is not installed (Debian package postgresql-15)")
    return Path(found[0]).parent


class Postgres:
    """One postmaster; `dsn(db)` names a database on it."""

    def __init__(self, root: Path, host: str = "127.0.0.1", fsync: bool = False) -> None:
        self.root = root
        self.host = host
        self.port = free_port()
        self.data = root / "data"
        self.sockets = root / "s"
        self.fsync = fsync
        self._popen: subprocess.Popen[bytes] | None = None
        self._as_postgres = pwd.getpwnam("postgres")

    def _own(self, path: Path) -> None:
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, self._as_postgres.pw_uid, self._as_postgres.pw_gid)

    def init(self) -> None:
        os.chmod(self.root, 0o755)
        self._own(self.data)
        self._own(self.sockets)
        subprocess.run(
            [str(bindir() / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
            user="postgres",
            check=True,
            capture_output=True,
            cwd=self.root,
        )
        # initdb trusts loopback only: also the networks the server is on (the multi-host tests' hosts).
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write("host all all samenet trust\n")

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None and self._popen.poll() is None else None

    def start(self, netns: str = "") -> None:
        """Start the server (inside network namespace `netns` when given) and wait until it answers."""
        assert self.pid is None, "postgres is running"
        args = [
            str(bindir() / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.sockets),
            "-c", f"listen_addresses={self.host}", "-c", f"fsync={'on' if self.fsync else 'off'}",
            "-c", "max_connections=200", "-c", "log_min_messages=warning",
        ]  # fmt: skip
        user: str | None = "postgres"
        if netns:  # entering a namespace needs root: become postgres inside it (setpriv execs: the PID stays ours)
            drop = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
            args, user = ["ip", "netns", "exec", netns, *drop, *args], None
        log = open(self.root / "postgres.log", "ab")
        self._popen = subprocess.Popen(
            args, user=user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root
        )
        log.close()
        popen = self._popen

        def ready() -> bool:
            if popen.poll() is not None:
                raise AssertionError(f"postgres exited {popen.returncode}:\n{self.output()}")
            return self.psql("postgres", "SELECT 1", check=False).returncode == 0

        wait_until(ready, START_TIMEOUT, interval=0.2, what="postgres accepting connections")

    def psql(self, db: str, sql: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run SQL through the unix socket as the superuser (test set-up and inspection)."""
        return subprocess.run(
            [str(bindir() / "psql"), "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres", "-d", db,
             "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
            user="postgres", check=check, capture_output=True, text=True, cwd=self.root,
        )  # fmt: skip

    def dsn(self, db: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{db}"

    def new_database(self, prefix: str = "t") -> str:
        """A new empty database; its DSN."""
        name = f"{prefix}{os.getpid()}_{next(_names)}"
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.dsn(name)

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT), then SIGKILL after `timeout`; by PID, never by name."""
        popen, self._popen = self._popen, None
        stop_popen(popen, signal.SIGINT, timeout)

    def output(self) -> str:
        log = self.root / "postgres.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""


@contextmanager
def running_postgres(host: str = "127.0.0.1", fsync: bool = False, netns: str = "") -> Iterator[Postgres]:
    """A started cluster in a short temp dir, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    pg = Postgres(root, host=host, fsync=fsync)
    try:
        pg.init()
        pg.start(netns=netns)
        yield pg
    finally:
        with suppress(Exception):
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)
