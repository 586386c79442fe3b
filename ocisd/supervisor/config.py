"""`supervisord.conf` for a set of ocis programs: one `[program:ocis-<name>]` each, in `[group:ocis]`.

Paths inside the directory use supervisord's `%(here)s`, so a generated
directory can move; the socket, the pid file and the logs live beside the config.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ocisd.config import loader
from ocisd.config.schema import ConfigError
from ocisd.config.shared import SharedConfig
from ocisd.discovery import BUS, installed, order
from ocisd.supervisor.environment import captured_env, ocis_executable

CONF = "supervisord.conf"
SOCKET = "supervisor.sock"
GROUP = "ocis"
PREFIX = "ocis-"
MAX_SOCKET_PATH = 108  # sockaddr_un.sun_path, including the terminating NUL
PORTABLE_OCIS = "%(here)s/../.venv/bin/ocis"  # the repository's venv, as `scripts/run` creates it
PORTABLE_CONFIG_DIR = "%(ENV_HOME)s/.ocis/config"
GITIGNORE = f"{SOCKET}\nsupervisord.pid\nlogs/\n"
QUOTES = "'\""
STOP_MARGIN = 3  # seconds for the process to exit once its servers are closed
# The descriptor limit of every program, for the proxy: a download in flight holds up to three (the
# client's connection, the upstream's, a handed-over file), the hand-over mailbox up to 512 more.
# The usual soft limit of 1 024 caps it near 300 downloads; 8 192 allows some 2 500, and stays under
# the usual hard limits (supervisord refuses to start, unless root, when minfds is above the hard limit).
MIN_FDS = 8192
UMASK = "077"  # supervisord's own logs and socket; each program sets its umask itself (ocisd/cli/launcher.py)


def stop_wait_secs(shared: SharedConfig) -> int:
    """Time between SIGTERM and SIGKILL (supervisord's `stopwaitsecs`, systemd's `TimeoutStopSec`): the drain,
    the extension's own stop (`shutdown_grace`), its servers' close (half that again) and a margin."""
    return math.ceil(shared.drain + 1.5 * shared.shutdown_grace) + STOP_MARGIN


STOP_WAIT_SECS = stop_wait_secs(SharedConfig())  # with the default settings


class GenerateError(ConfigError):
    """The deployment cannot be generated as asked (e.g. a socket path too long)."""


@dataclass
class Program:
    """One supervised process: `<ocis> <args...>` with its priority and rendered `environment=`."""

    name: str
    args: list[str]
    priority: int
    environment: str
    stop_wait: int = STOP_WAIT_SECS

    @property
    def program(self) -> str:
        return PREFIX + self.name


def program_name(name: str) -> str:
    """`hello` and `ocis-hello` both name the program `ocis-hello`."""
    return name if name.startswith(PREFIX) else PREFIX + name


def quote(value: str) -> str:
    """One `environment=` value as supervisord reads it: quoted, with `%` escaped as `%%`.

    supervisord splits the line with a non-POSIX shlex (no escapes inside quotes) and
    then strips quote characters at both ends, so the quote must be one the value
    does not contain, and a value cannot start or end with a quote character.
    """
    if "\n" in value or "\r" in value or (value and (value[0] in QUOTES or value[-1] in QUOTES)):
        raise GenerateError(f"environment value {value!r} cannot be written to supervisord.conf")
    mark = '"' if '"' not in value else "'"
    if mark in value:
        raise GenerateError(f"environment value {value!r} holds both quote characters")
    return mark + value.replace("%", "%%") + mark


def environment(env: Mapping[str, str]) -> str:
    return ",".join(f"{key}={quote(value)}" for key, value in sorted(env.items()))


def extension_programs(names: Sequence[str], environment_of: Mapping[str, str]) -> list[Program]:
    """One program per extension in dependency order, the bus broker first."""
    ordered = order(list(names))
    if BUS in ordered:
        ordered = [BUS] + [n for n in ordered if n != BUS]
    return [
        Program(n, [n, "server"], 10 if n == BUS else 100 + 10 * i, environment_of[n]) for i, n in enumerate(ordered)
    ]


def layout(names: Sequence[str], env: Mapping[str, str], portable: bool = False) -> tuple[str, list[Program]]:
    """The ocis command and programs for `names`: this shell's executable and environment,
    or (portable) the repository venv's `ocis` and the default config dir, for the committed `supervisor.d/`."""
    if portable:
        return PORTABLE_OCIS, extension_programs(names, {n: f'OCIS_CONFIG_DIR="{PORTABLE_CONFIG_DIR}"' for n in names})
    known = installed()
    envs = {n: environment(captured_env([n], env, known)) for n in names}
    programs = extension_programs(names, envs)
    for p in programs:  # each program's stop follows its own drain and grace
        p.stop_wait = stop_wait_secs(loader.load(p.name, known[p.name].config, known, env).shared)
    return ocis_command(), programs


def ocis_command() -> str:
    """The running `ocis` executable as a supervisord `command=` word."""
    return shlex.quote(ocis_executable()).replace("%", "%%")


def check_socket_path(directory: Path) -> Path:
    path = directory.absolute() / SOCKET
    if len(str(path).encode()) >= MAX_SOCKET_PATH:
        raise GenerateError(
            f"supervisord's socket path {path} is {len(str(path).encode())} bytes; unix socket paths must stay "
            f"under {MAX_SOCKET_PATH} bytes: choose a shorter --dir"
        )
    return path


def _program_section(ocis: str, p: Program) -> str:
    log = f"%(here)s/logs/{p.program}.log"
    lines = [
        f"[program:{p.program}]",
        f"command={ocis} {' '.join(p.args)}",
        f"priority={p.priority}",
        "autostart=true",
        "autorestart=true",
        "startsecs=2",
        "startretries=5",
        "stopsignal=TERM",
        f"stopwaitsecs={p.stop_wait}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log}",
        "stdout_logfile_maxbytes=10MB",
        "stdout_logfile_backups=5",
    ]
    if p.environment:
        lines.append(f"environment={p.environment}")
    return "\n".join(lines) + "\n"


def render(ocis: str, programs: Sequence[Program]) -> str:
    head = f"""; Generated by `ocis supervisor generate`; regenerate instead of editing.
; Drive it with `ocis supervisor start|status|restart NAME|reload|stop --dir <this directory>`.

[unix_http_server]
file=%(here)s/{SOCKET}
chmod=0700

[supervisord]
logfile=%(here)s/logs/supervisord.log
logfile_maxbytes=10MB
logfile_backups=5
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s/logs
minfds={MIN_FDS}
umask={UMASK}

[supervisorctl]
serverurl=unix://%(here)s/{SOCKET}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

; `ocis supervisor reload` swaps single programs of the group through this plugin.
[rpcinterface:ocis]
supervisor.rpcinterface_factory = ocisd.supervisor.rpcinterface:make

[group:{GROUP}]
programs={",".join(p.program for p in programs)}
"""
    return "\n".join([head, *(_program_section(ocis, p) for p in programs)])


def write(directory: Path, ocis: str, programs: Sequence[Program]) -> Path:
    """Write `supervisord.conf` (and a `.gitignore` for what supervisord creates) into `directory`."""
    check_socket_path(directory)
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    (directory / ".gitignore").write_text(GITIGNORE)
    conf = directory / CONF
    tmp = conf.with_name(f".{CONF}.tmp")
    tmp.write_text(render(ocis, programs))
    tmp.replace(conf)
    return conf
