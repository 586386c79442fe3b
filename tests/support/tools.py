"""The external programs the tests drive (litmus, rclone, owncloudcmd, chromium, nginx, systemd-analyze).

A missing program fails the test naming the Debian package that provides it, so a
CI run cannot pass without running its clients; `OCISD_ALLOW_MISSING_TOOLS=1`
turns the failure into a skip for a developer's machine. The package for each
program comes from scripts/debian-packages.txt, the list scripts/test installs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2] / "scripts" / "debian-packages.txt"
ALLOW = "OCISD_ALLOW_MISSING_TOOLS"
# Debian installs daemons such as nginx in sbin, which a non-root PATH often lacks.
SBIN = ("/usr/sbin", "/sbin")


def packages() -> dict[str, str]:
    """Each probe (a program name or an absolute path) mapped to its Debian package."""
    found = {}
    for line in PACKAGES.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 2:
            found[fields[1]] = fields[0]
    return found


def missing(tool: str, package: str) -> str:
    return f"{tool} is missing: install the Debian package {package} (scripts/test does as root)"


def require(tool: str) -> str:
    """The path of `tool`; fails the calling test (skips it when allowed) if it is not installed."""
    package = packages()[tool]
    path = shutil.which(tool) or next((p for d in SBIN if os.access(p := f"{d}/{tool}", os.X_OK)), None)
    if path:
        return path
    if os.environ.get(ALLOW) == "1":
        pytest.skip(missing(tool, package))
    pytest.fail(missing(tool, package), pytrace=False)


def needs(*tools: str) -> pytest.MarkDecorator:
    """Mark a test or module as driving `tools`; tests/conftest.py requires each before the test runs."""
    return pytest.mark.tools(*tools)
