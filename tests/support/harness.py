"""The one place integration tests start real processes.

A `Deployment` is a short temp dir (unix socket paths must stay under 108
bytes) with its own config dir, data dir, and free loopback ports for every
address of every installed extension, so tests never collide with each other
or with a running ocisd. Every process it starts is stopped by PID at teardown.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from pathlib import Path
from typing import Any
from unittest.mock import patch

import psutil

from ocisd.cli import main as cli
from ocisd.config import loader
from ocisd.config.schema import env_name, env_prefix, settings_of
from ocisd.discovery import installed, selection
from ocisd.runtime import control
from ocisd.supervisor.config import CONF
from ocisd.supervisor.control import pidfile_pid

BIN = Path(sys.executable).parent
_handed_out: set[int] = set()


def free_port(taken: set[int] | None = None) -> int:
    """A loopback TCP port nobody listens on now and not handed out before in this run (unless given
    back: a deployment returns the ports it took, in `taken`, once its processes are gone)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            if taken is not None:
                taken.add(port)
            return port
    raise RuntimeError(f"no free port found ({len(_handed_out)} handed out)")


def stop_popen(popen: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop a server the test started: `sig`, a bounded wait, then SIGKILL; by its PID, never by name."""
    if popen is None or popen.poll() is not None:
        return
    popen.send_signal(sig)
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout)


def wait_until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the thing polled may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else "")
    )


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_json(url: str, body: Any = None, method: str | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def kill_tree(root: psutil.Process) -> None:
    """SIGKILL `root` and every descendant (a supervisor's programs are in process groups of their
    own). All are stopped first, so no supervisor restarts what is being killed."""
    try:
        root.send_signal(signal.SIGSTOP)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for proc in tree:
            with suppress(psutil.NoSuchProcess):
                proc.send_signal(sig)


def kill_supervisor(directory: Path) -> None:
    """SIGKILL the supervisord of `directory` (`ocis supervisor ... --dir`) and its programs, when it runs:
    at the end of a test, where a graceful stop would drain every program for nothing."""
    pid = pidfile_pid(directory)
    with suppress(psutil.NoSuchProcess):
        if pid is not None and str(directory / CONF) in (root := psutil.Process(pid)).cmdline():
            kill_tree(root)


class Proc:
    """A started ocis process, its log file, and how to stop it."""

    def __init__(self, label: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.label = label
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.alive():
            self.popen.send_signal(signal.SIGCONT)
            self.popen.terminate()
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Deployment:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        # Every deployment names an address for each installed extension (~80 ports): given back at
        # close, or a whole run would use up the kernel's ephemeral range.
        self.ports: set[int] = set()
        self.env: dict[str, str] = {
            k: v for k, v in os.environ.items() if not k.startswith("OCIS_") and not self._is_extension_var(k)
        }
        self.env.update(
            OCIS_CONFIG_DIR=str(self.config_dir),
            OCIS_BASE_DATA_PATH=str(self.data_dir),
            OCIS_RUNTIME_ADDR=f"127.0.0.1:{free_port(self.ports)}",
            OCIS_BUS_PUB_ADDR=f"tcp://127.0.0.1:{free_port(self.ports)}",
            OCIS_BUS_SUB_ADDR=f"tcp://127.0.0.1:{free_port(self.ports)}",
            PYTHONUNBUFFERED="1",
        )
        for name, cls in installed().items():
            if cls.config is None:
                continue
            for s in settings_of(cls.config):
                if s.key.endswith("_addr"):
                    self.env[env_name(env_prefix(name), s.key)] = f"127.0.0.1:{free_port(self.ports)}"

    @staticmethod
    def _is_extension_var(key: str) -> bool:
        return any(key.startswith(env_prefix(n) + "_") for n in installed())

    def addr(self, extension: str, key: str) -> str:
        """The address given to `extension`'s `key` (e.g. ("hello", "http_addr"))."""
        return self.env[env_name(env_prefix(extension), key)]

    def url(self, extension: str, key: str = "http_addr", path: str = "/") -> str:
        return f"http://{self.addr(extension, key)}{path}"

    def ocis(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run an `ocis` command to completion."""
        return subprocess.run(
            [str(BIN / "ocis"), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )

    def init(self) -> None:
        """`ocis init` with this deployment's environment, run in this process: the same command
        without an interpreter start-up per deployment (tests/core/test_init.py runs the program)."""
        out = io.StringIO()
        with patch.dict(os.environ, self.env, clear=True), redirect_stdout(out), redirect_stderr(out):
            status = cli.main(["init", "--admin-password", "admin-pw-for-tests"])
        assert status == 0, out.getvalue()

    def spawn(self, label: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        log = self.logs / f"{label}-{len(self.procs)}.log"
        fh = open(log, "wb")
        popen = subprocess.Popen(
            [str(BIN / "ocis"), *args],
            env={**self.env, **(env or {})},
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        fh.close()
        proc = Proc(label, popen, log)
        self.procs.append(proc)
        return proc

    def start_runtime(
        self, extensions: str | None = None, env: dict[str, str] | None = None, wait: bool = True
    ) -> Proc:
        """`ocis server` with OCIS_RUN_EXTENSIONS=extensions; waits until each is running."""
        extra = dict(env or {})
        if extensions is not None:
            extra["OCIS_RUN_EXTENSIONS"] = extensions
        proc = self.spawn("runtime", "server", env=extra)
        if wait:
            named = [n.strip() for n in (extensions or "").split(",") if n.strip()]
            names = named or selection({**self.env, **extra})  # the default: no optional extension
            self.wait_runtime(proc, names, env=extra)
        return proc

    def runtime_list(self, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        res = self.ocis("list", "--json", env=env)
        if res.returncode != 0:
            raise RuntimeError(res.stderr)
        return list(json.loads(res.stdout))

    def wait_runtime(
        self, proc: Proc, names: list[str], env: dict[str, str] | None = None, timeout: float = 30
    ) -> None:
        # Asked in this process (what `ocis list` asks): an `ocis list` per poll costs ~0.7 s of CPU.
        shared = loader.load(None, None, installed(), {**self.env, **(env or {})}).shared

        def ready() -> bool:
            if not proc.alive():
                raise AssertionError(f"runtime exited {proc.popen.returncode}:\n{proc.output()}")
            rows = {r["name"]: r for r in control.request(shared, "/v0/extensions")}
            return all(rows.get(n, {}).get("state") == "running" for n in names)

        try:
            wait_until(ready, timeout, what=f"runtime extensions {names}")
        except TimeoutError as exc:  # what the runtime was doing meanwhile
            raise TimeoutError(f"{exc}\nruntime log, last lines:\n{proc.output()[-3000:]}") from None

    def start_extension(self, name: str, env: dict[str, str] | None = None, wait: bool = True) -> Proc:
        """`ocis <name> server` as its own process; waits until its debug /readyz answers 200."""
        proc = self.spawn(name, name, "server", env=env)
        if wait:
            self.wait_ready(name, proc, env)
        return proc

    def start_extensions(self, *names: str, env: dict[str, str] | None = None) -> list[Proc]:
        """`ocis <name> server` for each of `names`, all started before any is waited for
        (their start-ups overlap); waits until each is ready."""
        procs = [self.start_extension(name, env=env, wait=False) for name in names]
        for name, proc in zip(names, procs):
            self.wait_ready(name, proc, env)
        return procs

    def start_split(self, runtime: str, *own: str) -> list[Proc]:
        """`runtime`'s extensions in one `ocis server` and each of `own` as its own process, their
        start-ups overlapping; [the runtime, *own's processes] once all run."""
        proc = self.start_runtime(runtime, wait=False)
        procs = self.start_extensions(*own)
        self.wait_runtime(proc, runtime.split(","))
        return [proc, *procs]

    def wait_ready(
        self, name: str, proc: Proc | None = None, env: dict[str, str] | None = None, timeout: float = 30
    ) -> None:
        debug = {**self.env, **(env or {})}[env_name(env_prefix(name), "debug_addr")]

        def ready() -> bool:
            if proc is not None and not proc.alive():
                raise AssertionError(f"{name} exited {proc.popen.returncode}:\n{proc.output()}")
            return http_get(f"http://{debug}/readyz", timeout=2)[0] == 200

        wait_until(ready, timeout, what=f"{name} ready")

    def metrics(self, name: str, env: dict[str, str] | None = None) -> str:
        debug = {**self.env, **(env or {})}[env_name(env_prefix(name), "debug_addr")]
        return http_get(f"http://{debug}/metrics")[1].decode()

    def close(self) -> None:
        # The test is over and asserts nothing about this stop: a graceful one would drain
        # (OCIS_DRAIN_TIMEOUT, 2 s) in every deployment. Tests about stopping stop processes themselves.
        for proc in self.procs:
            if proc.alive():  # not reaped yet: its PID is still its own
                kill_tree(psutil.Process(proc.pid))
        for proc in self.procs:
            proc.popen.wait(10)
        _handed_out.difference_update(self.ports)


def metric_value(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


@contextmanager
def deployment(init: bool = True) -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix="oc-", dir=tempfile.gettempdir()))
    dep = Deployment(root)
    try:
        if init:
            dep.init()
        yield dep
    finally:
        dep.close()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running(extensions: str, env: dict[str, str] | None = None) -> Iterator[Deployment]:
    """A fresh deployment whose runtime runs `extensions` (with `env`), for the tests that share it."""
    with deployment() as dep:
        dep.start_runtime(extensions, env=env)
        yield dep
