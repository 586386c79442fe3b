"""Whether a supervised extension serves: its debug `/readyz` answers 200.

supervisord's RUNNING only means the process lived `startsecs`; an extension
that imports slowly on a busy machine may still fail after that. The debug
address comes from the config the program itself reads: its generated
`environment=` over this process's environment (supervisord hands its own
environment on to every program).
"""

from __future__ import annotations

import configparser
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from ocisd import addresses
from ocisd.config import loader
from ocisd.config.schema import ConfigError
from ocisd.discovery import installed
from ocisd.supervisor.config import PREFIX


def program_env(conf: Path, program: str, base: Mapping[str, str]) -> dict[str, str]:
    """The environment supervisord gives `program`: `base` plus its expanded `environment=`."""
    parser = configparser.RawConfigParser()
    parser.read(conf)
    raw = parser.get(f"program:{program}", "environment", fallback="")
    expansions = {"here": str(conf.parent), **{f"ENV_{k}": v for k, v in base.items()}}
    return {**base, **dict_of_key_value_pairs(raw % expansions)} if raw else dict(base)


class Readiness:
    """`/readyz` of supervised extensions, their debug URLs resolved once per program."""

    def __init__(self, conf: Path, base: Mapping[str, str] | None = None) -> None:
        self.conf = conf
        self.base = dict(os.environ if base is None else base)
        self._urls: dict[str, str | None] = {}

    def _url(self, program: str) -> str | None:
        if program not in self._urls:
            name = program.removeprefix(PREFIX)
            known = installed()
            url = None
            if name in known and known[name].config is not None:
                try:
                    cfg = loader.load(name, known[name].config, known, program_env(self.conf, program, self.base))
                    url = f"http://{addresses.connectable(cfg.own.debug_addr)}/readyz"
                except (ConfigError, ValueError, KeyError, configparser.Error):
                    url = None
            self._urls[program] = url
        return self._urls[program]

    def ready(self, program: str) -> bool:
        """True when the program's extension answers ready (or when it is no extension we can ask)."""
        url = self._url(program)
        if url is None:
            return True
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False
