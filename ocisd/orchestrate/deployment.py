"""A throwaway deployment under supervisord in a short temp dir, in either process model.

supervisor mode: one program per extension (`ocis <name> server`), as
`ocis supervisor generate` writes it. runtime mode: one program, `ocis server`
running every extension; supervisord then only restarts the whole runtime
after it died, which is what an operator of the runtime would set up.
With `brokers=2` the bus address lists name two brokers and a second one,
`ocis bus server` as program `ocis-bus-2`, runs beside the first in either mode.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ocisd.config import loader
from ocisd.config.schema import env_name, env_prefix, settings_of
from ocisd.discovery import BUS, installed, order
from ocisd.runtime import control
from ocisd.supervisor import config
from ocisd.supervisor.control import Supervisor, SupervisorError, kill_leftovers, run_tool
from ocisd.supervisor.environment import captured_env, ocis_executable, owner

MODES = ("supervisor", "runtime")
RUNTIME_PROGRAM = "server"
SECOND_BROKER = "bus-2"  # the program of the second broker, when there are two
ADMIN = "admin"  # the user `ocis init` creates, who does the file workload
ADMIN_PASSWORD = "orchestrate"


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port


def isolated_env(root: Path, base: Mapping[str, str], brokers: int = 1) -> dict[str, str]:
    """`base` without any ocisd setting, plus a config and data dir under `root` and free loopback ports
    (`brokers` pairs of bus addresses)."""
    known = list(installed())
    env = {k: v for k, v in base.items() if not k.startswith("OCIS_") and owner(k, known) is None}
    taken: set[int] = set()
    env.update(
        OCIS_CONFIG_DIR=str(root / "config"),
        OCIS_BASE_DATA_PATH=str(root / "data"),
        OCIS_RUNTIME_ADDR=f"127.0.0.1:{_free_port(taken)}",
        OCIS_BUS_PUB_ADDR=",".join(f"tcp://127.0.0.1:{_free_port(taken)}" for _ in range(brokers)),
        OCIS_BUS_SUB_ADDR=",".join(f"tcp://127.0.0.1:{_free_port(taken)}" for _ in range(brokers)),
        OCIS_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )

    for name, cls in installed().items():
        for s in settings_of(cls.config) if cls.config is not None else []:
            if s.key.endswith("_addr"):
                env[env_name(env_prefix(name), s.key)] = f"127.0.0.1:{_free_port(taken)}"
    return env


class TempDeployment:
    def __init__(self, mode: str, extensions: Sequence[str], brokers: int = 1) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if brokers not in (1, 2):
            raise ValueError("a temp deployment runs one or two brokers")
        self.mode = mode
        self.extensions = order(list(extensions))
        # mkdtemp in the system temp dir keeps supervisord's socket path short.
        self.root = Path(tempfile.mkdtemp(prefix="oco-"))
        self.env = isolated_env(self.root, os.environ, brokers)
        self.supervisor = Supervisor(self.root / "sup", self.env)
        self.brokers = brokers

    def _second_broker(self) -> config.Program:
        env = captured_env([BUS], self.env, installed())
        taken = {int(a.rsplit(":", 1)[1]) for a in self.env.values() if a.startswith("127.0.0.1:")}
        env.update(BUS_BROKER="1", BUS_DEBUG_ADDR=f"127.0.0.1:{_free_port(taken)}")
        return config.Program(SECOND_BROKER, [BUS, "server"], 10, config.environment(env))

    def addr(self, extension: str, key: str) -> str:
        return self.env[env_name(env_prefix(extension), key)]

    def _programs(self) -> list[config.Program]:
        known = installed()
        more = [self._second_broker()] if self.brokers > 1 else []
        if self.mode == "runtime":
            env = {**captured_env(self.extensions, self.env, known), "OCIS_RUN_EXTENSIONS": ",".join(self.extensions)}
            return [config.Program(RUNTIME_PROGRAM, ["server"], 10, config.environment(env)), *more]
        envs = {n: config.environment(captured_env([n], self.env, known)) for n in self.extensions}
        return config.extension_programs(self.extensions, envs) + more

    def start(self) -> None:
        run_tool([ocis_executable(), "init", "--admin-password", ADMIN_PASSWORD], self.env, "ocis init failed")
        config.write(self.supervisor.directory, config.ocis_command(), self._programs())
        failures = self.supervisor.start()
        if failures:
            raise SupervisorError("; ".join(f"{f.program} {f.state}:\n{f.log_tail}" for f in failures))

    def program(self, extension: str) -> str:
        """The program serving `extension` (or SECOND_BROKER: that one)."""
        if extension == SECOND_BROKER:
            return config.program_name(SECOND_BROKER)
        return config.program_name(RUNTIME_PROGRAM if self.mode == "runtime" else extension)

    def pid_of(self, extension: str) -> int:
        return self.supervisor.pid_of(self.program(extension))

    def all_running(self) -> bool:
        """Every program RUNNING, but one stopped on purpose (a broker killed for good)."""
        return all(p["statename"] in ("RUNNING", "STOPPED") for p in self.supervisor.processes())

    def diagnose(self, extension: str) -> str:
        """supervisord's state of the program serving `extension` and the end of its log."""
        program = self.program(extension)
        try:
            state = next(p["statename"] for p in self.supervisor.processes() if p["name"] == program)
        except (SupervisorError, StopIteration) as exc:
            return f"{program}: {exc}"
        return f"{program} is {state}; the end of its log:\n{self.supervisor.log_tail(program)}"

    def restart(self, extension: str) -> None:
        """Restart one extension the way its process model does: supervisord, or the runtime's control endpoint."""
        if self.mode == "supervisor":
            self.supervisor.restart(extension)
            return
        shared = loader.load(None, None, installed(), self.env).shared
        control.request(shared, f"/v0/extensions/{extension}/stop", "POST", timeout=30)
        control.request(shared, f"/v0/extensions/{extension}/start", "POST", timeout=30)

    def close(self) -> None:
        """Stop supervisord and every program; SIGKILL what is left; remove the temp dir."""
        try:
            for p in self.supervisor.processes():
                if p["pid"]:
                    os.kill(p["pid"], signal.SIGCONT)  # a paused program could not stop
            self.supervisor.stop()
        except (SupervisorError, ProcessLookupError):
            kill_leftovers(self.supervisor.directory)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
