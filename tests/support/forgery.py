"""Start `tests.support.forged_instance`: a made-up record on the bus, perhaps a forged storage provider."""

from __future__ import annotations

import json
import socket
from typing import Any

from tests.support.harness import Deployment, Proc
from tests.support.proxy import spawn_module


def forge(dep: Deployment, record: dict[str, Any], provider: str = "", secret: str = "") -> Proc:
    """Announce `record` (host: this one, health: ready, started: 0 unless given) until the process stops."""
    full = {"host": socket.gethostname(), "health": "ready", "started": 0, **record}
    args = ["--record", json.dumps(full), "--provider", provider, "--secret", secret]
    return spawn_module(dep, f"forged-{record['name']}", "tests.support.forged_instance", *args)
