"""A missing client program fails its test naming the Debian package; a skip fails the run unless allowed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import tools

ROOT = Path(__file__).resolve().parents[2]


def pytest_run(args: list[str], path: str, allow: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != tools.ALLOW} | {"PATH": path}
    if allow:
        env[tools.ALLOW] = "1"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_every_probe_names_its_package() -> None:
    probes = tools.packages()
    for tool in ("litmus", "rclone", "owncloudcmd", "chromium", "nginx", "systemd-analyze"):
        assert tool in probes
    assert probes["owncloudcmd"] == "owncloud-client-cmd"
    assert probes["systemd-analyze"] == "systemd"


@pytest.mark.parametrize("allow", [False, True], ids=["ci", "allowed"])
def test_a_missing_client_fails_naming_its_package(tmp_path: Path, allow: bool) -> None:
    # An empty PATH: litmus is gone, and the test fails before any deployment starts.
    res = pytest_run(["tests/clients/test_litmus.py", "-rs"], str(tmp_path), allow)
    message = "litmus is missing: install the Debian package litmus"
    assert message in res.stdout, res.stdout + res.stderr
    if allow:
        assert res.returncode == 0 and " skipped" in res.stdout
    else:
        assert res.returncode == 1 and " error" in res.stdout and "skipped" not in res.stdout


@pytest.mark.parametrize("allow", [False, True], ids=["ci", "allowed"])
def test_any_skip_fails_the_run_unless_allowed(tmp_path: Path, allow: bool) -> None:
    (tmp_path / "test_skips.py").write_text("import pytest\n\ndef test_skips():\n    pytest.skip('no reason')\n")
    res = pytest_run(["-p", "tests.conftest", str(tmp_path / "test_skips.py")], os.environ["PATH"], allow)
    assert (res.returncode, "1 skipped: a skip is a failure" in res.stdout) == ((0, False) if allow else (1, True))


def test_scripts_test_without_root_names_missing_packages_and_stops() -> None:
    # A copy of scripts/test beside a list naming one absent package; as root, drop to nobody first
    # (in a directory of its own: pytest's tmp_path sits under a directory only root may enter).
    with tempfile.TemporaryDirectory() as tmp:
        stops_before_pytest(Path(tmp))


def stops_before_pytest(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "test"
    script.write_bytes((ROOT / "scripts" / "test").read_bytes())
    script.chmod(0o755)
    (tmp_path / "scripts" / "debian-packages.txt").write_text(
        "# list\nlitmus litmus\nno-such-package no-such-program\n"
    )
    tmp_path.chmod(0o755)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.getuid() == 0 else []
    env = {"PATH": os.environ["PATH"]}
    res = subprocess.run([*drop, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "missing Debian packages: no-such-package\n" in res.stderr
    assert not (tmp_path / ".venv").exists()
