"""Drive a generated supervisord over XML-RPC on its unix socket (`supervisor.xmlrpc`)."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from supervisor.xmlrpc import Faults, SupervisorTransport

from ocisd.config import loader
from ocisd.config.schema import ConfigError
from ocisd.config.shared import SharedConfig
from ocisd.discovery import installed
from ocisd.supervisor.config import CONF, GROUP, SOCKET, STOP_WAIT_SECS, instances_of, program_name
from ocisd.supervisor.readiness import Readiness, program_env
from ocisd.supervisor.registry_watch import RegistryWatch

START_TIMEOUT = 60.0
REGISTRY_TIMEOUT = 10.0  # ready by /readyz, then in a fresh subscriber's registry: several heartbeats at most
LOG_TAIL_BYTES = 4000
FAILED = ("BACKOFF", "FATAL", "EXITED")


class SupervisorError(Exception):
    """supervisord is not reachable, refused a call, or a program did not come up."""


@dataclass
class Failure:
    program: str
    state: str
    log_tail: str


def supervisord_executable() -> str:
    """The `supervisord` of the venv ocisd runs from, else the one on PATH."""
    beside = Path(sys.executable).parent / "supervisord"
    if beside.exists():
        return str(beside)
    found = shutil.which("supervisord")
    if found is None:
        raise SupervisorError("supervisord not found: install the `supervisor` package into ocisd's venv")
    return found


def run_tool(args: list[str], env: Mapping[str, str], failed: str) -> None:
    """Run a short command to completion; SupervisorError `failed: <its output>` when it fails."""
    res = subprocess.run(args, env=dict(env), capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise SupervisorError(f"{failed}: {(res.stderr or res.stdout).strip()}")


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy or `timeout` passes (then return its last result)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def gone(pids: Iterable[tuple[int, float]]) -> bool:
    """True when none of (pid, create_time) lives any more (a reused PID does not count)."""
    for pid, created in pids:
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


class Supervisor:
    def __init__(self, directory: Path, env: Mapping[str, str] | None = None) -> None:
        """`env`: what supervisord and its programs inherit (default: this process's environment)."""
        self.directory = directory.absolute()
        self.conf = self.directory / CONF
        self.socket = self.directory / SOCKET
        self.env = dict(os.environ if env is None else env)
        self.readiness = Readiness(self.conf, self.env)

    def _raw(self, method: str, *args: Any) -> Any:
        # A fresh transport per call: a persistent one stays broken after a failed request.
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        fn: Any = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        for part in method.split("."):
            fn = getattr(fn, part)
        try:
            return fn(*args)
        except (OSError, http.client.HTTPException) as exc:
            raise SupervisorError(f"supervisord is not running (socket {self.socket}: {exc})") from None
        finally:
            transport.close()

    def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call like `supervisor.getState`; SupervisorError when it fails."""
        try:
            return self._raw(method, *args)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"{method}{args}: {exc.faultString}") from None

    def running(self) -> bool:
        try:
            return bool(self.call("supervisor.getState")["statename"] == "RUNNING")
        except SupervisorError:
            return False

    def processes(self) -> list[dict[str, Any]]:
        return list(self.call("supervisor.getAllProcessInfo"))

    def status(self) -> list[dict[str, Any]]:
        """One row per program: name, state (supervisord's state name), pid, uptime in seconds."""
        return [
            {
                "name": p["name"],
                "state": p["statename"],
                "pid": p["pid"] or None,
                "uptime": p["now"] - p["start"] if p["statename"] == "RUNNING" else 0,
            }
            for p in self.processes()
        ]

    def start(self, timeout: float = START_TIMEOUT) -> list[Failure]:
        """Launch supervisord (unless it runs) and wait for every program; return the ones that failed."""
        if not self.conf.is_file():
            raise SupervisorError(f"no {CONF} in {self.directory}: run `ocis supervisor generate` first")
        if not self.running():
            (self.directory / "logs").mkdir(exist_ok=True)
            run_tool([supervisord_executable(), "-c", str(self.conf)], self.env, "supervisord did not start")
            if not wait_for(self.running, 15):
                raise SupervisorError(f"supervisord did not answer on {self.socket}")
        return self.wait_programs(None, timeout)

    def wait_programs(self, programs: list[str] | None, timeout: float) -> list[Failure]:
        """Wait until `programs` (all when None) are RUNNING and their extensions ready.

        supervisord calls a program RUNNING once it lived `startsecs`; one that exits
        sooner (BACKOFF), later (a slow start failing late) or goes FATAL is reported at
        once, while supervisord goes on retrying it.
        """
        deadline = time.monotonic() + timeout
        running: dict[str, int] = {}  # program -> PID it first had when seen RUNNING
        while True:
            infos = [p for p in self.processes() if programs is None or p["name"] in programs]
            bad = []
            for p in infos:
                seen = running.get(p["name"])
                if p["statename"] == "RUNNING" and seen is None:
                    running[p["name"]] = p["pid"]
                elif p["statename"] in FAILED or (seen is not None and seen != p["pid"]):
                    bad.append(p)
            stable = [p for p in infos if p["name"] in running and p not in bad and self.readiness.ready(p["name"])]
            if not bad and len(stable) == len(infos):
                return []
            if bad or time.monotonic() >= deadline:
                late = bad or [p for p in infos if p not in stable]
                return [Failure(p["name"], self._state(p, running), self.log_tail(p["name"])) for p in late]
            time.sleep(0.2)

    @staticmethod
    def _state(info: dict[str, Any], running: dict[str, int]) -> str:
        seen = running.get(info["name"])
        if seen is not None and seen != info["pid"]:
            return f"{info['statename']} again after exiting"
        return str(info["statename"])

    def log_tail(self, program: str) -> str:
        try:
            text = self.call("supervisor.tailProcessStdoutLog", f"{GROUP}:{program}", 0, LOG_TAIL_BYTES)[0]
        except SupervisorError as exc:
            return str(exc)
        return "\n".join(str(text).splitlines()[-20:])

    def programs_of(self, name: str) -> list[str]:
        """What `restart NAME` restarts: every instance of an extension (`ocdav`, `ocis-ocdav`),
        or the one program NAME (`ocis-ocdav-2`)."""
        return instances_of(self.conf, name) or [program_name(name)]

    def restart(self, name: str) -> list[Failure]:
        """Restart `name`'s programs one at a time; the others keep running untouched.

        Each is stopped (gracefully: SIGTERM, then supervisord's stopwaitsecs), started, and
        must be ready and in the bus registry before the next one stops, so an extension with
        several instances keeps serving throughout. The first that does not come back ends it.
        """
        programs = self.programs_of(name)
        for program in programs:
            self.pid_of(program)  # an unknown name fails before anything stops
        return self._roll(GROUP, programs, swap=False)

    def _roll(self, group: str, programs: list[str], swap: bool) -> list[Failure]:
        """Stop each program, start it again (`swap`: swap in its re-read config, which
        supervisord then starts), and wait until it is ready and in the registry before the next."""
        with RegistryWatch(self._shared(programs[0])) as registry:
            for program in programs:
                self._stop_quietly(f"{group}:{program}")
                if swap:
                    self.call("ocis.swap", group, program)
                else:
                    self._start_quietly(f"{group}:{program}")
                failures = self.wait_programs([program], START_TIMEOUT) or self._registered(program, registry)
                if failures:
                    return failures
        return []

    def _shared(self, program: str) -> SharedConfig:
        """The shared config (bus addresses and keys) `program` runs with."""
        try:
            return loader.load(None, None, installed(), program_env(self.conf, program, self.env)).shared
        except (ConfigError, ValueError) as exc:
            raise SupervisorError(f"cannot read {program}'s config to watch the bus registry: {exc}") from None

    def _registered(self, program: str, registry: RegistryWatch) -> list[Failure]:
        pid = self.pid_of(program)
        if wait_for(lambda: registry.ready(pid), REGISTRY_TIMEOUT):
            return []
        state = f"RUNNING (PID {pid}) but not ready in the bus registry after {REGISTRY_TIMEOUT:.0f} s"
        return [Failure(program, state, self.log_tail(program))]

    def _start_quietly(self, spec: str) -> None:
        try:
            self.call("supervisor.startProcess", spec, True)
        except SupervisorError:
            pass  # a spawn error or a failed start shows as FATAL/BACKOFF in wait_programs, with the log

    def pid_of(self, program: str) -> int:
        for p in self.processes():
            if p["name"] == program:
                return int(p["pid"])
        raise SupervisorError(f"no program {program!r} in {self.conf}")

    def reload(self) -> tuple[dict[str, list[str]], list[Failure]]:
        """Apply a changed config like `supervisorctl update`, but per program inside groups:
        added programs start first, changed ones roll one at a time (as `restart`), removed ones stop last."""
        added, changed, removed = self.call("supervisor.reloadConfig")[0]
        summary: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
        for group in removed:
            summary["removed"] += [p["name"] for p in self.processes() if p["group"] == group]
            self.call("supervisor.stopProcessGroup", group, True)
            self.call("supervisor.removeProcessGroup", group)
        for group in added:
            self.call("supervisor.addProcessGroup", group)
            summary["added"] += [p["name"] for p in self.processes() if p["group"] == group]
        diffs = {group: self.call("ocis.diff", group) for group in changed}
        for group, diff in diffs.items():
            for key in summary:
                summary[key] += diff[key]
            for program in diff["added"]:
                self.call("ocis.swap", group, program)
        failures = self.wait_programs(summary["added"], START_TIMEOUT) if summary["added"] else []
        for group, diff in diffs.items():
            if failures:
                break  # what is left keeps its old config; the next reload applies it
            if diff["changed"]:
                failures = self._roll(group, diff["changed"], swap=True)
            for program in diff["removed"] if not failures else []:
                self._stop_quietly(f"{group}:{program}")
                self.call("ocis.swap", group, program)
        return summary, failures

    def stop_program(self, program: str) -> None:
        """Have one program of the group stopped, without waiting, and left stopped (a restart under
        way is cancelled)."""
        self._stop_quietly(f"{GROUP}:{program_name(program)}", wait=False)

    def _stop_quietly(self, spec: str, wait: bool = True) -> None:
        try:
            self._raw("supervisor.stopProcess", spec, wait)
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != Faults.NOT_RUNNING:
                raise SupervisorError(f"stopProcess {spec}: {exc.faultString}") from None

    def stop(self) -> list[int]:
        """Shut supervisord down and wait until it and every process below it exited; returns their PIDs."""
        pid = int(self.call("supervisor.getPID"))
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
            tracked = [(p.pid, p.create_time()) for p in procs]
        except psutil.NoSuchProcess:
            tracked = []
        self.call("supervisor.shutdown")
        if not wait_for(lambda: gone(tracked), STOP_WAIT_SECS + 10):
            left = [p for p, _ in tracked if not gone([(p, _)])]
            raise SupervisorError(f"processes still running after shutdown: {left}")
        return [p for p, _ in tracked]


def pidfile_pid(directory: Path) -> int | None:
    """supervisord's PID from its pid file, when it is there."""
    try:
        return int((directory / "supervisord.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def kill_leftovers(directory: Path) -> None:
    """Last resort after a failed `stop`: SIGKILL this directory's supervisord and everything below it."""
    pid = pidfile_pid(directory)
    if pid is None:
        return
    try:
        root = psutil.Process(pid)
        if str(directory / CONF) not in root.cmdline():
            return  # the pid file is stale and the PID belongs to someone else now
        for proc in [*root.children(recursive=True), root]:
            proc.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
