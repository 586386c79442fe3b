"""Public links through the TLS proxy: view, upload and file drop, passwords, expiry, path tricks, /s/, rclone.

One deployment (bus, gateway, storage-users, ocdav, the front door, sharing,
storage-publiclink in one runtime); links are made through the sharing gRPC API
as the owner, and used the way a visitor uses them: no account, at most a password.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocisd.api.sharing.v1 import permissions
from tests.support import tools
from tests.support.harness import Deployment, wait_until
from tests.support.webdav_stack import DavStack

from .links import PUBLIC_FILES, Sharing, basic, fileid, hrefs, public, soon, stack

Stack = tuple[Deployment, DavStack, Sharing]


@pytest.fixture(scope="module")
def env() -> Iterator[Stack]:
    with stack() as (dep, dav):
        sharing = Sharing(dep)
        try:
            yield dep, dav, sharing
        finally:
            sharing.close()


def make_folder(dav: DavStack, name: str, files: dict[str, bytes]) -> str:
    """A folder of the owner's with `files` in it; its resource id."""
    assert dav.request("MKCOL", name).status == 201
    for rel, data in files.items():
        if "/" in rel:
            dav.request("MKCOL", f"{name}/{rel.rsplit('/', 1)[0]}")
        assert dav.request("PUT", f"{name}/{rel}", data).status == 201
    return fileid(dav, name)


def test_view_link_lists_and_reads_but_writes_nothing(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "view", {"a.txt": b"alpha", "sub/b.txt": b"beta"})
    token = sharing.link(rid, permissions.VIEWER, expires=soon()).token
    listed = hrefs(public(dav, token, "PROPFIND", "", b"", {"Depth": "1"}))
    base = f"{PUBLIC_FILES}{token}/"
    assert listed[0] == base and sorted(listed[1:]) == [base + "a.txt", base + "sub/"]
    got = public(dav, token, "GET", "sub/b.txt")
    assert (got.status, got.body) == (200, b"beta") and got.headers["ETag"]
    assert public(dav, token, "HEAD", "a.txt").headers["Content-Length"] == "5"
    assert public(dav, token, "PUT", "new.txt", b"x").status == 403
    assert public(dav, token, "MKCOL", "newdir").status == 403
    assert public(dav, token, "DELETE", "a.txt").status == 403
    assert dav.request("GET", "view/a.txt").body == b"alpha"


def test_password_basic_public_and_legacy(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "secret", {"s.txt": b"s3cret"})
    token = sharing.link(rid, permissions.VIEWER, password="open sesame").token
    anonymous = public(dav, token, "PROPFIND", "", b"", {"Depth": "1"})
    assert anonymous.status == 401 and "Basic" in anonymous.headers.get("WWW-Authenticate", "")
    assert public(dav, token, "GET", "s.txt", headers=basic("public", "wrong")).status == 401
    assert public(dav, token, "GET", "s.txt", headers=basic("public", "open sesame")).body == b"s3cret"
    # Legacy ownCloud: Basic <token>:<password> on /public.php/webdav, hrefs under that base.
    legacy = dav.request(
        "PROPFIND", "/public.php/webdav/", b"", {"Depth": "1", **basic(token, "open sesame")}, auth=False
    )
    assert hrefs(legacy) == ["/public.php/webdav/", "/public.php/webdav/s.txt"]
    assert dav.request("GET", "/public.php/webdav/s.txt", None, basic(token, "nope"), auth=False).status == 401
    assert dav.request("GET", "/public.php/webdav/s.txt", auth=False).status == 401


def test_wrong_passwords_are_throttled(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "guarded", {"g.txt": b"g"})
    token = sharing.link(rid, permissions.VIEWER, password="right one").token
    statuses = [public(dav, token, "GET", "g.txt", headers=basic("public", f"guess {i}")).status for i in range(4)]
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    locked = public(dav, token, "GET", "g.txt", headers=basic("public", "right one"))
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0


def test_guessing_tokens_is_throttled_per_address(env: Stack) -> None:
    _, dav, sharing = env
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [public(dav, f"Guess{i:04d}", "GET", "x.txt", headers=guesser).status for i in range(21)]
    assert statuses == [404] * 20 + [429], statuses
    token = sharing.link(make_folder(dav, "guessed", {"x.txt": b"x"}), permissions.VIEWER).token
    assert public(dav, token, "GET", "x.txt", headers=guesser).status == 429  # that address is locked out
    assert public(dav, token, "GET", "x.txt").status == 200  # nobody else is


def test_upload_link_creates_and_updates_not_deletes(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "inbox", {"old.txt": b"old"})
    token = sharing.link(rid, permissions.UPLOAD, password="pw", expires=soon()).token
    auth = basic("public", "pw")
    assert public(dav, token, "PUT", "new.txt", b"new", auth).status == 201
    assert public(dav, token, "PUT", "old.txt", b"newer", auth).status == 204
    assert public(dav, token, "MKCOL", "dir", headers=auth).status == 201
    assert public(dav, token, "PUT", "dir/deep.txt", b"deep", auth).status == 201
    assert public(dav, token, "DELETE", "old.txt", headers=auth).status == 403
    assert dav.request("GET", "inbox/old.txt").body == b"newer"
    assert dav.request("GET", "inbox/dir/deep.txt").body == b"deep"


def test_file_drop_never_collides_and_shows_nothing(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "drop", {"report.pdf": b"owner's"})
    token = sharing.link(rid, permissions.FILE_DROP).token
    assert [public(dav, token, "PUT", "report.pdf", body).status for body in (b"one", b"two")] == [201, 201]
    assert public(dav, token, "PUT", ".env", b"dot").status == 201
    assert hrefs(public(dav, token, "PROPFIND", "", b"", {"Depth": "1"})) == [f"{PUBLIC_FILES}{token}/"]
    assert public(dav, token, "GET", "report.pdf").status == 404
    assert dav.request("GET", "drop/report.pdf").body == b"owner's"
    assert dav.request("GET", "drop/report%20(2).pdf").body == b"one"
    assert dav.request("GET", "drop/report%20(3).pdf").body == b"two"
    assert dav.request("GET", "drop/.env").body == b"dot"
    page = dav.request("GET", f"/s/{token}", auth=False)
    assert page.status == 200 and b"file drop" in page.body and b"bytes" not in page.body


def test_single_file_link_is_the_file(env: Stack) -> None:
    _, dav, sharing = env
    assert dav.request("PUT", "single.txt", b"just me").status == 201
    token = sharing.link(fileid(dav, "single.txt"), permissions.VIEWER).token
    assert public(dav, token, "GET").body == b"just me"
    found = public(dav, token, "PROPFIND", "", b"", {"Depth": "1"})
    assert len(hrefs(found)) == 1 and b"<d:getcontentlength>7<" in found.body
    assert public(dav, token, "GET", "other.txt").status in (404, 409)


def test_expired_removed_and_unknown_links_look_the_same(env: Stack) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "fleeting", {"f.txt": b"f"})
    unknown = public(dav, "NoSuchToken123", "GET", "f.txt")
    assert unknown.status == 404
    gone = sharing.link(rid, permissions.VIEWER)
    assert public(dav, gone.token, "GET", "f.txt").status == 200
    sharing.remove(gone.id)
    removed = wait_until(
        lambda: (r := public(dav, gone.token, "GET", "f.txt")).status == 404 and r, what="removed link"
    )
    expiring = sharing.link(rid, permissions.VIEWER, expires=time.time() + 2)
    expired = wait_until(
        lambda: (r := public(dav, expiring.token, "GET", "f.txt")).status == 404 and r, 30, what="expired link"
    )
    assert removed.body == expired.body == unknown.body  # nothing tells the three apart


def test_path_tricks_stay_inside(env: Stack) -> None:
    _, dav, sharing = env
    assert dav.request("PUT", "outside.txt", b"private").status == 201
    rid = make_folder(dav, "jail", {"in.txt": b"in", "sub/x.txt": b"x"})
    token = sharing.link(rid, permissions.UPLOAD).token
    for rest in ("../outside.txt", "%2e%2e/outside.txt", "sub/../../outside.txt", "sub/%2E%2E/%2e%2e/outside.txt"):
        assert public(dav, token, "GET", rest).status in (400, 404), rest
    assert public(dav, token, "GET", "sub/../in.txt").body == b"in"
    outside = f"{dav.root}/remote.php/dav/files/admin/moved.txt"
    assert public(dav, token, "MOVE", "in.txt", headers={"Destination": outside}).status in (403, 502)
    escape = f"{dav.root}{PUBLIC_FILES}{token}/../outside.txt"
    assert public(dav, token, "COPY", "in.txt", headers={"Destination": escape}).status in (400, 403, 502)
    other = sharing.link(fileid(dav, "outside.txt"), permissions.VIEWER).token
    into_other = f"{dav.root}{PUBLIC_FILES}{other}/x.txt"
    assert public(dav, token, "COPY", "in.txt", headers={"Destination": into_other}).status in (403, 502)
    assert dav.request("GET", "outside.txt").body == b"private"
    inside = {"Destination": f"{PUBLIC_FILES}{token}/sub/in.txt"}
    assert public(dav, token, "COPY", "in.txt", headers=inside).status == 201
    assert public(dav, token, "MOVE", "in.txt", headers=inside).status == 403  # an upload link deletes nothing


def test_landing_page(env: Stack) -> None:
    _, dav, sharing = env
    assert dav.request("PUT", "landing.txt", b"0123456789").status == 201
    rid = fileid(dav, "landing.txt")
    open_link = sharing.link(rid, permissions.VIEWER).token
    page = dav.request("GET", f"/s/{open_link}", auth=False)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"landing.txt" in page.body and b"10 bytes" in page.body and b"Download" in page.body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    got = dav.request("POST", f"/s/{open_link}", b"action=download", form, auth=False)
    assert (got.status, got.body) == (200, b"0123456789")

    locked = sharing.link(rid, permissions.VIEWER, password="pa ss").token
    asked = dav.request("GET", f"/s/{locked}", auth=False)
    assert asked.status == 200 and b'type="password"' in asked.body and b"landing.txt" not in asked.body
    wrong = dav.request("POST", f"/s/{locked}", b"password=nope", form, auth=False)
    assert wrong.status == 403 and b"landing.txt" not in wrong.body
    shown = dav.request("POST", f"/s/{locked}", b"password=pa+ss", form, auth=False)
    assert shown.status == 200 and b"landing.txt" in shown.body
    got = dav.request("POST", f"/s/{locked}", b"password=pa+ss&action=download", form, auth=False)
    assert (got.status, got.body) == (200, b"0123456789")
    assert dav.request("GET", "/s/NoSuchToken123", auth=False).status == 404

    folder = sharing.link(make_folder(dav, "gallery", {"one.txt": b"1", "two.txt": b"22", "sub/x": b""}), 1).token
    listed = dav.request("GET", f"/s/{folder}", auth=False)
    assert all(name in listed.body for name in (b"gallery/", b"one.txt", b"two.txt", b"sub/")), listed.body
    got = dav.request("POST", f"/s/{folder}", b"action=download&entry=two.txt", form, auth=False)
    assert (got.status, got.body) == (200, b"22")
    assert dav.request("POST", f"/s/{folder}", b"action=download&entry=sub%2Fx", form, auth=False).status == 404
    assert dav.request("POST", f"/s/{folder}", b"action=download&entry=..", form, auth=False).status == 404


@tools.needs("rclone")
def test_rclone_copies_into_upload_link_and_lists_view_link(env: Stack, tmp_path: Path) -> None:
    _, dav, sharing = env
    rid = make_folder(dav, "rclone-in", {})
    upload = sharing.link(rid, permissions.UPLOAD, password="rc pw").token
    local = tmp_path / "src"
    (local / "nested").mkdir(parents=True)
    for i in range(5):
        (local / f"f{i}.txt").write_bytes(b"x" * (i + 1) * 100)
    (local / "nested" / "deep.bin").write_bytes(os.urandom(4096))
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "RCLONE_CONFIG": str(tmp_path / "rc.conf"),
    }
    (tmp_path / "rc.conf").write_text("")

    def rclone(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rclone", *args], env=run_env, capture_output=True, text=True, timeout=120)

    obscured = rclone("obscure", "rc pw").stdout.strip()
    remote = f":webdav,url='{dav.root}{PUBLIC_FILES}{upload}',vendor=other,user=public,pass='{obscured}':"
    res = rclone("copy", str(local), remote, "--no-check-certificate")
    assert res.returncode == 0, res.stderr[-3000:]
    assert dav.request("GET", "rclone-in/nested/deep.bin").body == (local / "nested" / "deep.bin").read_bytes()

    view = sharing.link(rid, permissions.VIEWER).token
    res = rclone("lsf", "-R", f":webdav,url='{dav.root}{PUBLIC_FILES}{view}':", "--no-check-certificate")
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(res.stdout.split()) == sorted([*(f"f{i}.txt" for i in range(5)), "nested/", "nested/deep.bin"])
