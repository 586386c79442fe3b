"""The ownCloud desktop sync engine (`owncloudcmd`, Debian owncloud-client-cmd) syncs two ways against ocisd.

The stack runs behind the TLS proxy with its access log on, so the tests can
see what the client sent (a sync that transfers nothing sends no PUT or GET).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import signal
import subprocess
import xml.etree.ElementTree as ET
from base64 import b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.core.test_supervisor import Sup
from tests.support import sets, tools, webdav_stack
from tests.support.harness import Deployment, wait_until
from tests.support.identity import add_user

pytestmark = tools.needs("owncloudcmd")

FRONT = sets.join(sets.FRONT, "frontend")  # what a desktop client asks of the server besides files
ACCESS = re.compile(r"msg=request method=(\S+) path=(\"(?:[^\"\\]|\\.)*\"|\S+) status=(\d+) bytes_in=(\d+)")
MB = 1024 * 1024
UNICODE_FILE = "Ünïcödé 日本/naïve file 😀.txt"


class Client:
    """owncloudcmd against the proxy, and the proxy's access log (`access_log()` returns its text)."""

    def __init__(self, dep: Deployment, dav: webdav_stack.DavStack, access_log: Callable[[], str]) -> None:
        self.dep, self.dav, self.access_log = dep, dav, access_log
        self.exclude = dep.root / "exclude.lst"
        self.exclude.write_text("")  # Debian's package lacks the system list: without one it aborts
        self.mark = 0

    def command(self, local: Path, user: str = webdav_stack.ADMIN, password: str = webdav_stack.PASSWORD) -> list[str]:
        args = ["--non-interactive", "--trust", "--exclude", str(self.exclude), "-u", user, "-p", password]
        return ["owncloudcmd", *args, "--max-sync-retries", "1", str(local), self.dav.root]

    def sync(self, local: Path, **kw: str) -> subprocess.CompletedProcess[str]:
        local.mkdir(exist_ok=True)
        self.mark = len(self.requests())
        return subprocess.run(self.command(local, **kw), capture_output=True, text=True, timeout=180)

    def requests(self) -> list[tuple[str, str, int, int]]:
        """(method, path, status, bytes in) of every request the proxy logged so far."""
        out = []
        for m in ACCESS.finditer(self.access_log()):
            path = json.loads(m[2]) if m[2].startswith('"') else m[2]
            out.append((m[1], path, int(m[3]), int(m[4])))
        return out

    def since_sync(self, *methods: str) -> list[tuple[str, str, int, int]]:
        """WebDAV requests (OCS ones aside) of the last sync with one of `methods`."""
        return [r for r in self.requests()[self.mark :] if r[0] in methods and r[1].startswith("/remote.php/")]


def start(dep: Deployment, names: str, env: dict[str, str] | None = None, alone: str = "") -> Client:
    """The stack in one runtime, except `alone` (an extension started as its own process)."""
    proc = dep.start_runtime(names, env={"PROXY_ACCESS_LOG": "true", **(env or {})})
    if alone:
        dep.start_extension(alone)
    dav = webdav_stack.connect(dep, proxied=True)
    wait_advertised(dav, env or {})
    return Client(dep, dav, proc.output)


def wait_advertised(dav: webdav_stack.DavStack, env: dict[str, str]) -> None:
    wanted = '"tus_support"' if env.get("FRONTEND_TUS_SUPPORT") else '"chunking":"1.0"'

    def advertised() -> bool:  # the frontend sees ocdav's routes with the next registry update
        caps = dav.request("GET", "/ocs/v1.php/cloud/capabilities?format=json", headers={"OCS-APIREQUEST": "true"})
        return wanted in caps.body.decode().replace(" ", "")

    wait_until(advertised, 30, what="upload capabilities")


def make_tree(root: Path) -> None:
    (root / "nested" / "deep").mkdir(parents=True)
    (root / "nested" / "deep" / "file.txt").write_text("deep\n")
    (root / "empty folder").mkdir()
    (root / UNICODE_FILE).parent.mkdir()
    (root / UNICODE_FILE).write_text("unicode\n")
    (root / "with space.txt").write_text("spaces\n")
    (root / "conflict.txt").write_text("original\n")
    (root / "zero.bin").write_bytes(b"")
    (root / "big.bin").write_bytes(os.urandom(30 * MB))  # over 10 MB: chunking NG


def tree(root: Path) -> list[str]:
    """Relative paths (folders end in /) minus the client's own dot-files."""
    return sorted(
        str(p.relative_to(root)) + ("/" if p.is_dir() else "")
        for p in root.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def same_trees(a: Path, b: Path) -> bool:
    files = [p for p in tree(a) if not p.endswith("/")]
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    return tree(a) == tree(b) and not mismatch and not errors


def prop(dav: webdav_stack.DavStack, path: str, name: str) -> str:
    reply = dav.request("PROPFIND", path, b"", {"Depth": "0"})
    assert reply.status == 207, reply
    return ET.fromstring(reply.body).findtext(f".//{name}") or ""


@contextmanager
def supervised(dep: Deployment, names: str, env: dict[str, str] | None = None) -> Iterator[tuple[Sup, Client]]:
    """The stack under a real supervisord, every extension its own program; stopped by PID at the end."""
    sup = Sup(dep)
    try:
        sup.generate(names, env={"PROXY_ACCESS_LOG": "true", **(env or {})})
        sup.run("start")
        dav = webdav_stack.connect(dep, proxied=True)
        wait_advertised(dav, env or {})
        logs = sup.dir / "logs"
        yield sup, Client(dep, dav, lambda: "".join(p.read_text(errors="replace") for p in logs.glob("*proxy*.log")))
    finally:
        sup.close()


@pytest.mark.parametrize("deployed", ["one-runtime", "supervisord"])
def test_two_way_sync(dep: Deployment, tmp_path: Path, deployed: str) -> None:
    names, env = f"{webdav_stack.names(False)},{FRONT}", {"AUTH_BASIC_USER_IP_LOCKOUT": "3"}
    if deployed == "supervisord":
        with supervised(dep, names, env) as (_, client):
            two_way_sync(client, tmp_path)
    else:
        two_way_sync(start(dep, names, env), tmp_path)


def two_way_sync(client: Client, tmp_path: Path) -> None:
    dep, dav = client.dep, client.dav
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    make_tree(a)

    res = client.sync(a)
    assert res.returncode == 0, res.stderr[-3000:]
    assembled = [r for r in client.since_sync("MOVE") if r[1].startswith("/remote.php/dav/uploads/admin/")]
    assert [r[1].endswith("/.file") and r[2] == 201 for r in assembled] == [True], client.requests()[client.mark :]
    assert prop(dav, "big.bin", "{DAV:}getcontentlength") == str(30 * MB)

    res = client.sync(b)  # a fresh second client folder
    assert res.returncode == 0, res.stderr[-3000:]
    assert same_trees(a, b)

    # Remote changes, one sync.
    assert dav.request("PUT", "remote%20new.txt", b"from curl\n").status == 201
    assert dav.request("DELETE", "with%20space.txt").status == 204
    assert dav.request("MKCOL", "remote%20dir").status == 201
    moved = {"Destination": f"{dav.base}/nested/moved.txt"}
    assert dav.request("MOVE", "nested/deep/file.txt", None, moved).status == 201
    assert client.sync(b).returncode == 0
    assert (b / "remote new.txt").read_text() == "from curl\n" and (b / "remote dir").is_dir()
    assert not (b / "with space.txt").exists() and not (b / "nested" / "deep" / "file.txt").exists()
    assert (b / "nested" / "moved.txt").read_text() == "deep\n"

    # Local changes, one sync; the rename moves on the server (same file id, no upload).
    big_id = prop(dav, "big.bin", "{http://owncloud.org/ns}fileid")
    (b / UNICODE_FILE).write_text("edited locally\n")
    (b / "zero.bin").unlink()
    (b / "big.bin").rename(b / "big renamed.bin")
    assert client.sync(b).returncode == 0
    assert not [r for r in client.since_sync("PUT") if "big" in r[1]]
    assert prop(dav, "big%20renamed.bin", "{http://owncloud.org/ns}fileid") == big_id
    assert dav.request("GET", quote(UNICODE_FILE)).body == b"edited locally\n"
    assert dav.request("GET", "zero.bin").status == 404

    # The first folder catches up; the rename is a local rename, not a download.
    assert client.sync(a).returncode == 0
    assert not [r for r in client.since_sync("GET") if "big" in r[1]]
    assert same_trees(a, b)

    # Nothing changed: nothing transferred.
    assert client.sync(a).returncode == 0
    assert client.since_sync("PUT", "GET", "MOVE", "DELETE", "MKCOL") == []

    # Both sides edit: the server's version wins, the local edit stays as the client's conflicted copy.
    assert dav.request("PUT", "conflict.txt", b"server edit\n").status == 204
    (a / "conflict.txt").write_text("local edit\n")
    assert client.sync(a).returncode == 0
    assert (a / "conflict.txt").read_text() == "server edit\n"
    copies = [p for p in a.iterdir() if p.name.startswith("conflict (conflicted copy ")]
    assert [p.read_text() for p in copies] == ["local edit\n"]
    assert dav.request("GET", "conflict.txt").body == b"server edit\n"

    # A wrong password: the client fails, and the login throttle locks the name out.
    add_user(dep, "bob", "bob-password-1")
    for _ in range(3):
        assert client.sync(tmp_path / "c", user="bob", password="wrong").returncode != 0
    bob = {"Authorization": "Basic " + b64encode(b"bob:bob-password-1").decode()}
    assert dav.request("PROPFIND", "/remote.php/dav/files/bob/", b"", bob, auth=False).status == 429


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        while block := fh.read(MB):
            digest.update(block)
    return digest.hexdigest()


def _stored_bytes(dav: webdav_stack.DavStack) -> int:
    """Bytes the open upload sessions hold in storage (chunks, or the durable TUS offset)."""
    reply = dav.request("PROPFIND", "/remote.php/dav/uploads/admin/", b"", {"Depth": "1"})
    sizes = ET.fromstring(reply.body).iter("{http://owncloud.org/ns}size")
    return sum(int(s.text or 0) for s in sizes)


def interrupt(client: Client, local: Path, kill: Callable[[], None]) -> None:
    """Start a sync of `local` and `kill` the storage once part of the upload is stored; the run fails."""
    client.mark = len(client.requests())
    run = subprocess.Popen(client.command(local), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Some of it is in storage (a chunk, or a TUS checkpoint), the rest still on its way.
        wait_until(lambda: _stored_bytes(client.dav) > 0, 60, interval=0.02, what="bytes in storage")
        kill()
        assert run.wait(timeout=120) != 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def completes(client: Client, local: Path, sha1: str, resumes: bool) -> None:
    """With the storage back: no partial file is visible, and the next run completes the upload."""
    client.dav = webdav_stack.connect(client.dep, proxied=True)
    assert client.dav.request("PROPFIND", "huge.bin", b"", {"Depth": "0"}).status == 404
    res = client.sync(local)
    assert res.returncode == 0, res.stderr[-3000:]
    sums = prop(client.dav, "huge.bin", "{http://owncloud.org/ns}checksum")
    assert f"SHA1:{sha1}" in sums.split()
    if resumes:  # chunking NG: the client kept its transfer id, only the missing chunks went again
        assert sum(r[3] for r in client.since_sync("PUT")) < 100 * MB


@pytest.mark.parametrize("upload", ["chunking", "tus"])
def test_interrupted_upload_resumes(dep: Deployment, tmp_path: Path, upload: str) -> None:
    """SIGKILL storage-users (its own process) in the middle of a 100 MB upload; the next run completes it."""
    env = {"FRONTEND_TUS_SUPPORT": "true"} if upload == "tus" else {}
    client = start(dep, f"bus,gateway,ocdav,{FRONT}", env, alone="storage-users")
    storage = dep.procs[-1]
    local = tmp_path / "local"
    local.mkdir()
    (local / "huge.bin").write_bytes(os.urandom(100 * MB))
    want = _sha1(local / "huge.bin")
    interrupt(client, local, storage.kill)
    dep.start_extension("storage-users")
    completes(client, local, want, resumes=upload == "chunking")


def test_interrupted_upload_under_supervisord(dep: Deployment, tmp_path: Path) -> None:
    """The same under supervisord: SIGKILL of the storage-users program, supervisord restarts it."""
    with supervised(dep, f"bus,gateway,storage-users,ocdav,{FRONT}") as (sup, client):
        local = tmp_path / "local"
        local.mkdir()
        (local / "huge.bin").write_bytes(os.urandom(100 * MB))
        killed = sup.pids()["ocis-storage-users"]
        interrupt(client, local, lambda: os.kill(killed, signal.SIGKILL))
        wait_until(lambda: sup.pids().get("ocis-storage-users", killed) != killed, 30, what="storage-users restarted")
        completes(client, local, _sha1(local / "huge.bin"), resumes=True)
