"""rclone (webdav backend, vendor owncloud) syncs a tree of 200 small files up and back down unchanged.

rclone 1.60's webdav pacer spaces its calls 10 ms apart, so each file costs a few tens of ms
whatever the server does: 200 files (eight at a time, Unicode names, three levels) prove the
round trip; scripts/bench-sync times rclone on 1 000."""

from __future__ import annotations

import filecmp
import os
import subprocess
import unicodedata
from pathlib import Path

from ocisd import identity
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment

pytestmark = tools.needs("rclone")

NAMES = ["Übersicht", "日本語", "emoji 😀", unicodedata.normalize("NFD", "café"), "plain"]


def make_tree(root: Path, per_folder: int = 50) -> int:
    """20 folders of `per_folder` small files (1 000 by default, what scripts/bench-sync times),
    nested three levels, with Unicode names."""
    count = 0
    for i, top in enumerate(NAMES):
        for j in range(4):
            folder = root / top / f"sub {j}" / ("deeper" if j % 2 else "ß")
            folder.mkdir(parents=True)
            for k in range(per_folder):
                (folder / f"{NAMES[(i + k) % len(NAMES)]} {k}.txt").write_bytes(f"{top}/{j}/{k}\n".encode() * (k + 1))
                count += 1
    return count


def rclone(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rclone", *args], env=env, capture_output=True, text=True, timeout=300)


def remote_env(dav: webdav_stack.DavStack, home: Path) -> dict[str, str]:
    """The environment that defines the rclone remote `oc:` (webdav, vendor owncloud) for the stack."""
    config = home / "rclone.conf"
    config.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "RCLONE_CONFIG": str(config),
        "RCLONE_CONFIG_OC_TYPE": "webdav",
        "RCLONE_CONFIG_OC_VENDOR": "owncloud",
        "RCLONE_CONFIG_OC_URL": dav.url.rstrip("/"),
        "RCLONE_NO_CHECK_CERTIFICATE": "true",
    }
    if dav.proxied:
        obscured = rclone(env, "obscure", dav.password).stdout.strip()
        env.update(RCLONE_CONFIG_OC_USER=dav.user, RCLONE_CONFIG_OC_PASS=obscured)
    else:  # no proxy installed: send the internal token the proxy would have forwarded
        env["RCLONE_CONFIG_OC_HEADERS"] = f"{identity.HTTP_HEADER},{dav.auth[identity.HTTP_HEADER]}"
    return env


def test_rclone_sync_up_and_down(dep: Deployment, tmp_path: Path) -> None:
    dav = webdav_stack.start(dep)
    up, down = tmp_path / "up", tmp_path / "down"
    assert make_tree(up, per_folder=10) == 200
    env = remote_env(dav, tmp_path)

    res = rclone(env, "sync", str(up), "oc:tree", "--transfers", "8", "--checkers", "8")
    assert res.returncode == 0, res.stderr[-3000:]
    res = rclone(env, "sync", "oc:tree", str(down), "--transfers", "8", "--checkers", "8")
    assert res.returncode == 0, res.stderr[-3000:]
    res = rclone(env, "check", str(up), "oc:tree")
    assert res.returncode == 0 and "0 differences found" in res.stderr, res.stderr[-3000:]
    assert "hash" not in res.stderr.lower() or "0 hashes could not be checked" in res.stderr, res.stderr
    assert sorted(p.relative_to(up) for p in up.rglob("*")) == sorted(p.relative_to(down) for p in down.rglob("*"))
    files = [p.relative_to(up) for p in up.rglob("*") if p.is_file()]
    _, mismatch, errors = filecmp.cmpfiles(up, down, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors

    # A second sync uploads nothing: mtimes were accepted (X-OC-MTime) and sizes/hashes match.
    res = rclone(env, "sync", str(up), "oc:tree", "-v")
    assert res.returncode == 0 and "Copied" not in res.stderr, res.stderr[-3000:]
