"""rclone two ways: `rclone sync` down after remote changes, `rclone bisync` round trips, nothing sent twice."""

from __future__ import annotations

from pathlib import Path

from tests.clients.test_rclone import make_tree, rclone, remote_env
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment

pytestmark = tools.needs("rclone")
FAST = ("--transfers", "8", "--checkers", "8")


def transferred(stderr: str) -> list[str]:
    """The files an `rclone -v` run copied or deleted (its INFO lines)."""
    return [line for line in stderr.splitlines() if ": Copied" in line or ": Deleted" in line]


def test_rclone_sync_down_and_bisync(dep: Deployment, tmp_path: Path) -> None:
    dav = webdav_stack.start(dep)
    env = remote_env(dav, tmp_path)
    local, mirror = tmp_path / "local", tmp_path / "mirror"
    assert make_tree(local, per_folder=5) == 100

    # Up and down.
    assert rclone(env, "sync", str(local), "oc:tree", *FAST).returncode == 0
    res = rclone(env, "sync", "oc:tree", str(mirror), *FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    res = rclone(env, "check", str(mirror), "oc:tree")
    assert res.returncode == 0 and "0 differences found" in res.stderr, res.stderr[-3000:]

    # bisync: the first run (--resync) finds both sides equal and sends nothing.
    workdir = str(tmp_path / "bisync")
    res = rclone(env, "bisync", str(local), "oc:tree", "--resync", "--workdir", workdir, "-v", *FAST)
    assert res.returncode == 0 and transferred(res.stderr) == [], res.stderr[-3000:]

    # Changes on both sides cross in one bisync run.
    edited = next(local.rglob("*.txt"))
    edited.write_text("edited locally\n")
    (local / "new local.txt").write_text("new\n")
    deleted = sorted(local.rglob("*.txt"))[-1]
    deleted.unlink()
    assert dav.request("PUT", "tree/new%20remote.txt", b"from the server\n").status == 201
    assert dav.request("DELETE", "tree/plain/sub%200/%C3%9F/plain%200.txt").status == 204
    res = rclone(env, "bisync", str(local), "oc:tree", "--workdir", workdir, "-v", *FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (local / "new remote.txt").read_text() == "from the server\n"
    assert not (local / "plain" / "sub 0" / "ß" / "plain 0.txt").exists()
    assert dav.request("GET", "tree/new%20local.txt").body == b"new\n"
    res = rclone(env, "check", str(local), "oc:tree")
    assert res.returncode == 0 and "0 differences found" in res.stderr, res.stderr[-3000:]

    # Nothing changed: bisync and sync in either direction send nothing.
    res = rclone(env, "bisync", str(local), "oc:tree", "--workdir", workdir, "-v", *FAST)
    assert res.returncode == 0 and transferred(res.stderr) == [], res.stderr[-3000:]
    res = rclone(env, "sync", "oc:tree", str(mirror), *FAST)  # the mirror takes the bisync changes
    assert res.returncode == 0, res.stderr[-3000:]
    res = rclone(env, "sync", str(local), "oc:tree", "-v", *FAST)
    assert res.returncode == 0 and transferred(res.stderr) == [], res.stderr[-3000:]
    res = rclone(env, "sync", "oc:tree", str(mirror), "-v", *FAST)
    assert res.returncode == 0 and transferred(res.stderr) == [], res.stderr[-3000:]
    res = rclone(env, "check", str(mirror), "oc:tree")
    assert res.returncode == 0 and "0 differences found" in res.stderr, res.stderr[-3000:]
