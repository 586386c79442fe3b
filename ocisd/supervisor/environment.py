"""What a generated deployment takes from the shell that generated it.

Both the supervisord and the systemd generator start `ocis <name> server` with
the absolute path of the running `ocis` executable and the environment that
configures ocisd: `OCIS_CONFIG_DIR`, every `OCIS_*`, the extension's own
`<NAME>_*` variables and those every process reads (`DEPLOYMENT_WIDE`), so the
deployment behaves like that shell.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from ocisd.api.postprocessing.v1.contract import STEPS_ENV
from ocisd.config.loader import config_dir
from ocisd.config.schema import env_prefix

EXECUTABLES = ("ocis", "ocisd")
# Settings of one extension that others read too: every process gets them.
DEPLOYMENT_WIDE = (STEPS_ENV,)


def ocis_executable() -> str:
    """Absolute path of the `ocis` program now running (its venv's `ocis` under `python -m ocisd`)."""
    argv0 = Path(sys.argv[0])
    if argv0.name in EXECUTABLES and argv0.is_file():
        return os.path.abspath(argv0)
    return str(Path(sys.executable).parent / "ocis")


def owner(var: str, extensions: Iterable[str]) -> str | None:
    """The extension whose `<NAME>_` prefix `var` carries; the longest prefix wins (STORAGE_USERS_ vs STORAGE_)."""
    matches = [n for n in extensions if var.startswith(env_prefix(n) + "_")]
    return max(matches, key=len) if matches else None


def captured_env(runs: Collection[str], env: Mapping[str, str], extensions: Iterable[str]) -> dict[str, str]:
    """`OCIS_CONFIG_DIR` (absolute), every `OCIS_*`, the `<NAME>_*` variables of the extensions in `runs`
    and the deployment-wide ones."""
    known = list(extensions)
    out = {k: v for k, v in env.items() if k.startswith("OCIS_") or k in DEPLOYMENT_WIDE or owner(k, known) in runs}
    out["OCIS_CONFIG_DIR"] = str(config_dir(env).absolute())
    return dict(sorted(out.items()))
