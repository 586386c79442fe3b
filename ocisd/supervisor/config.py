"""`supervisord.conf` for a set of ocis programs: one `[program:ocis-<name>]` each, in `[group:ocis]`.

Paths inside the directory use supervisord's `%(here)s`, so a generated
directory can move; the socket, the pid file and the logs live beside the config.

An extension may run as several instances (`--instances ocdav=3`): the first
is `ocis-ocdav` on the configured addresses, instance k is `ocis-ocdav-k` with
every port of the extension moved up by (k-1) x INSTANCE_PORT_STEP, written
into its `environment=`. Peers find each instance through the bus registry,
which records the configured addresses, so port 0 cannot stand in. supervisord's
`numprocs` would share one `environment=` and could only number the processes,
not give each its own ports; one section per instance keeps the command
`ocis <name> server` and shows each instance's addresses in the file.

The bus broker runs once per pair of OCIS_BUS_PUB_ADDR/OCIS_BUS_SUB_ADDR:
`--instances bus=2` runs two on this host (`ocis-bus-2` binds the second pair,
BUS_BROKER=1), `--broker N` makes this host's `ocis-bus` bind pair N (one broker
on each of two hosts).
"""

from __future__ import annotations

import configparser
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ocisd import addresses
from ocisd.config import loader
from ocisd.config.schema import ConfigError, env_name, env_prefix, settings_of
from ocisd.config.shared import SharedConfig
from ocisd.discovery import BUS, canonical, installed, optional_env, order
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
# Instance k of an extension listens on its configured ports + (k-1) x this step: above ocisd's
# default ports (9100-9235) so no instance lands on another extension's default.
INSTANCE_PORT_STEP = 1000
BROKER_VAR = "BUS_BROKER"  # which pair of the bus address lists a broker binds
ENV_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")


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


def parse_instances(text: str, names: Sequence[str], brokers: int = 1) -> dict[str, int]:
    """`ocdav=2,hello=3` → {"ocdav": 2, "hello": 3}; names outside `names` are refused, and more
    brokers than the bus address lists pair up (`brokers`)."""
    counts: dict[str, int] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        name, _, count = item.partition("=")
        name = canonical(name)
        if not count.isdigit() or int(count) < 1:
            raise GenerateError(f"--instances: expected NAME=COUNT with COUNT >= 1, found {item!r}")
        if name not in names:
            raise GenerateError(f"--instances: {name!r} is not among the generated extensions: {', '.join(names)}")
        if name == BUS and int(count) > brokers:
            raise GenerateError(
                f"--instances: the bus broker runs once per pair of OCIS_BUS_PUB_ADDR/OCIS_BUS_SUB_ADDR "
                f"(they name {brokers})"
            )
        counts[name] = int(count)
    return counts


def parse_program_env(
    items: Sequence[str], names: Sequence[str], counts: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    """`--program-env ocis-storage-users-2:STORAGE_USERS_HOME_RANGE=80-ff` (repeatable) → {program: {KEY: value}}:
    what one instance sets differently from its siblings (its share of the homes, its data path)."""
    programs = {PREFIX + n for n in names} | {f"{PREFIX}{n}-{k}" for n, c in counts.items() for k in range(2, c + 1)}
    out: dict[str, dict[str, str]] = {}
    for item in items:
        program, _, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        program = program_name(program)
        if not eq or not ENV_KEY.fullmatch(key):
            raise GenerateError(f"--program-env: expected PROGRAM:KEY=VALUE, found {item!r}")
        if program not in programs:
            raise GenerateError(
                f"--program-env: {program} is not among the generated programs: {', '.join(sorted(programs))}"
            )
        out.setdefault(program, {})[key] = value
    return out


def instance_addresses(name: str, k: int, env: Mapping[str, str]) -> dict[str, str]:
    """The `<NAME>_<KEY>_ADDR` variables giving instance `k` (from 2) of `name` its own ports."""
    known = installed()
    cls = known[name].config
    if cls is None:
        return {}
    own = loader.load(name, cls, known, env).own
    out = {}
    for s in settings_of(cls):
        if s.key.endswith("_addr"):
            host, port = addresses.split(getattr(own, s.key), s.key)
            moved = port + (k - 1) * INSTANCE_PORT_STEP
            if port == 0 or moved > 65535:
                raise GenerateError(
                    f"{name} instance {k}: {s.key} port {port} + {(k - 1) * INSTANCE_PORT_STEP} is not a usable port"
                )
            out[env_name(env_prefix(name), s.key)] = addresses.join(host, moved)
    if name == BUS:
        out[BROKER_VAR] = str(k - 1)
    return out


def broker_count(env: Mapping[str, str]) -> int:
    """How many brokers the bus address lists of `env` pair up."""
    return len(loader.load(None, None, installed(), env).shared.bus_brokers())


def check_broker(broker: int, env: Mapping[str, str]) -> None:
    """Refuse `--broker N` outside the brokers the bus address lists of `env` name."""
    count = broker_count(env)
    if not 0 <= broker < count:
        raise GenerateError(
            f"--broker {broker}: OCIS_BUS_PUB_ADDR/OCIS_BUS_SUB_ADDR name {count} brokers (0 to {count - 1})"
        )


def extension_programs(
    names: Sequence[str], environment_of: Mapping[str, str], further: Mapping[str, Sequence[str]] | None = None
) -> list[Program]:
    """One program per extension in dependency order, the bus broker first; `further` holds the
    `environment=` of an extension's instances 2, 3, ... (programs `ocis-<name>-2`, ...)."""
    ordered = order(list(names))
    if BUS in ordered:
        ordered = [BUS] + [n for n in ordered if n != BUS]
    programs = []
    for i, n in enumerate(ordered):
        priority = 10 if n == BUS else 100 + 10 * i
        programs.append(Program(n, [n, "server"], priority, environment_of[n]))
        for k, env in enumerate((further or {}).get(n, ()), start=2):
            programs.append(Program(f"{n}-{k}", [n, "server"], priority, env))
    return programs


def layout(
    names: Sequence[str],
    env: Mapping[str, str],
    portable: bool = False,
    instances: Mapping[str, int] | None = None,
    broker: int | None = None,
    program_env: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[str, list[Program]]:
    """The ocis command and programs for `names`: this shell's executable and environment,
    or (portable) the repository venv's `ocis` and the default config dir, for the committed `supervisor.d/`.
    `instances`: how many of an extension to run (default one); their ports come from this shell's config.
    `broker`: which pair of the bus address lists this host's broker binds.
    `program_env`: variables one program sets on top (`parse_program_env`)."""
    counts = instances or {}
    own = program_env or {}
    # Every program agrees on the optional extensions deployed (POSTPROCESSING_STEPS=auto reads them).
    optional = optional_env(list(names))
    env = {**env, **optional}
    if broker is not None:
        check_broker(broker, env)
        if counts.get(BUS, 1) > 1:
            raise GenerateError("--broker names this host's one broker: not with --instances bus=N")
        env = {**env, BROKER_VAR: str(broker)}
    if portable:
        base = ",".join([f'OCIS_CONFIG_DIR="{PORTABLE_CONFIG_DIR}"', *(f"{k}={quote(v)}" for k, v in optional.items())])
        envs = {n: base for n in names}
        if broker is not None and BUS in envs:
            envs[BUS] += f',{BROKER_VAR}="{broker}"'
        further = {
            n: [
                f"{base},{environment({**instance_addresses(n, k, env), **own.get(f'{PREFIX}{n}-{k}', {})})}"
                for k in range(2, counts.get(n, 1) + 1)
            ]
            for n in names
        }
        envs = {n: ",".join([e, environment(own[PREFIX + n])]) if PREFIX + n in own else e for n, e in envs.items()}
        return PORTABLE_OCIS, extension_programs(names, envs, further)
    known = installed()
    captured = {n: captured_env([n], env, known) for n in names}
    further = {
        n: [
            environment(
                {**captured[n], **instance_addresses(n, k, {**env, **captured[n]}), **own.get(f"{PREFIX}{n}-{k}", {})}
            )
            for k in range(2, counts.get(n, 1) + 1)
        ]
        for n in names
    }
    firsts = {n: environment({**e, **own.get(PREFIX + n, {})}) for n, e in captured.items()}
    programs = extension_programs(names, firsts, further)
    for p in programs:  # each program's stop follows its own drain and grace
        p.stop_wait = stop_wait_secs(loader.load(p.args[0], known[p.args[0]].config, known, env).shared)
    return ocis_command(), programs


def instances_of(conf: Path, name: str) -> list[str]:
    """The programs of `conf` whose command is `<ocis> <name> server` (`name`: ocdav or ocis-ocdav), in file order."""
    parser = configparser.RawConfigParser()
    parser.read(conf)
    wanted = [name.removeprefix(PREFIX), "server"]
    return [
        section.removeprefix("program:")
        for section in parser.sections()
        if section.startswith("program:") and shlex.split(parser.get(section, "command", fallback=""))[-2:] == wanted
    ]


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
