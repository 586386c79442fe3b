"""Per-user quotas: `ocis users set-quota`, the default for new users, 507 on every way bytes come in
(PUT, chunking NG, TUS, COPY) with nothing half-stored, and the quota as clients see it (WebDAV
properties, OCS `cloud/user` and provisioning)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.config.schema import Size
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.service.config import StorageConfig
from tests.support import sets, webdav_stack
from tests.support.harness import Deployment
from tests.support.identity import add_user, call, identity_deployment, ocis_ok, token_for
from tests.support.tools import needs

DEFAULT = 10_000_000  # STORAGE_USERS_QUOTA of the deployment: "10MB"
KIB = 1024
MIB = 1024 * KIB
NAMES = sets.join(sets.WEBDAV, "frontend", "ocs")


class User:
    """One account's WebDAV files through the proxy, with its own Basic auth."""

    def __init__(self, dav: webdav_stack.DavStack, name: str, password: str) -> None:
        self.dav, self.name = dav, name
        self.auth = {"Authorization": "Basic " + b64encode(f"{name}:{password}".encode()).decode()}

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> webdav_stack.Reply:
        target = path if path.startswith("/") else f"/remote.php/dav/files/{self.name}/{path}"
        return self.dav.request(method, target, body, {**self.auth, **headers}, auth=False)

    def put(self, path: str, body: bytes, chunked: bool = False) -> int:
        target = f"/remote.php/dav/files/{self.name}/{path}"
        return self.dav.request("PUT", target, body, self.auth, auth=False, chunked=chunked).status

    def content(self, path: str) -> bytes | None:
        reply = self.request("GET", path)
        return reply.body if reply.status == 200 else None

    def names(self) -> list[str]:
        reply = self.request("PROPFIND", "", b"", Depth="1")
        hrefs = [h.text or "" for h in ET.fromstring(reply.body).iter("{DAV:}href")]
        return sorted(h.rstrip("/").rsplit("/", 1)[1] for h in hrefs[1:])

    def quota_props(self) -> tuple[int, int]:
        ask = (
            b'<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>'
        )
        reply = self.request("PROPFIND", "", ask, Depth="0")
        assert reply.status == 207, reply
        root = ET.fromstring(reply.body)
        return int(root.findtext(".//{DAV:}quota-used-bytes") or ""), int(
            root.findtext(".//{DAV:}quota-available-bytes") or ""
        )

    def ocs(self, path: str) -> dict:
        reply = self.request("GET", f"/ocs/v2.php/{path}?format=json")
        assert reply.status == 200, reply
        return dict(json.loads(reply.body)["ocs"]["data"])


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Deployment, webdav_stack.DavStack]]:
    if not webdav_stack.front_door_installed():
        pytest.fail("the quota tests need the front door: proxy, users, groups, auth-basic")
    with identity_deployment() as dep:
        dep.start_runtime(NAMES, env={"STORAGE_USERS_QUOTA": "10MB", "PROXY_ACCESS_LOG": "false"})
        yield dep, webdav_stack.connect(dep, True)


def new_user(stack: tuple[Deployment, webdav_stack.DavStack], name: str) -> User:
    dep, dav = stack
    add_user(dep, name, f"{name}-password-1")
    return User(dav, name, f"{name}-password-1")


def set_quota(dep: Deployment, user: str, size: str) -> str:
    return ocis_ok(dep, "users", "set-quota", user, size)


def test_new_users_get_the_default_and_see_it(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    dora = new_user(stack, "dora")
    assert dora.put("a.bin", b"x" * 1000) == 201
    used, available = dora.quota_props()
    assert (used, available) == (1000, DEFAULT - 1000)
    quota = dora.ocs("cloud/user")["quota"]
    assert quota == {"free": DEFAULT - 1000, "used": 1000, "total": DEFAULT, "relative": 0.01, "definition": "10 MB"}
    # The admin reads it through OCS provisioning as well.
    admin = User(stack[1], webdav_stack.ADMIN, webdav_stack.PASSWORD)
    assert admin.ocs("cloud/users/dora")["quota"] == quota
    # Another's quota stays private.
    eve = new_user(stack, "eve")
    token = token_for(dep, identity.Identity(user_id=_user_id(dep, "eve"), username="eve"))
    with pytest.raises(grpc.RpcError) as denied:
        call(dep, "gateway", pb_grpc.StorageStub, "GetQuota", _quota_ref(dep, "dora"), token)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and eve.quota_props() == (0, DEFAULT)


def test_set_quota_refuses_garbage_and_unknown_users(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    for garbage in ("lots", "-1", "1.5B", "10XB", ""):
        res = dep.ocis("users", "set-quota", "admin", garbage)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, (garbage, res.stderr)
        assert "SIZE" in res.stderr
    res = dep.ocis("users", "set-quota", "nobody", "1GB")
    assert res.returncode == 1 and "no user named 'nobody'" in res.stderr


def test_set_quota_before_the_first_login_and_put_over_it(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    frank = new_user(stack, "frank")  # never used his files yet: no space
    assert "quota of frank: 1 MiB (0 bytes used)" in set_quota(dep, "frank", "1MiB")
    old = os.urandom(100 * KIB)
    assert frank.put("f.bin", old) == 201
    assert frank.quota_props() == (len(old), MIB - len(old))
    # Announced (Content-Length): refused before the body; streamed (chunked): refused when it ends.
    assert frank.put("f.bin", os.urandom(2 * MIB)) == 507
    assert frank.put("f.bin", os.urandom(2 * MIB), chunked=True) == 507
    assert frank.put("new.bin", os.urandom(MIB), chunked=True) == 507
    assert frank.content("f.bin") == old and frank.content("new.bin") is None
    assert frank.quota_props() == (len(old), MIB - len(old))
    # Raising it lets the same upload through; `none` lifts it (-3: what ownCloud clients read as unlimited).
    set_quota(dep, "frank", "3MiB")
    assert frank.put("f.bin", os.urandom(2 * MIB)) == 204
    set_quota(dep, "frank", "none")
    assert frank.quota_props()[1] == -3
    quota = frank.ocs("cloud/user")["quota"]
    assert quota["definition"] == "none" and quota["used"] == 2 * MIB and quota["free"] > 0
    assert quota["total"] == quota["free"] + quota["used"]


def test_chunked_ng_over_quota_leaves_nothing(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    gina = new_user(stack, "gina")
    set_quota(dep, "gina", "1MB")
    uploads = "/remote.php/dav/uploads/gina"
    # Announced at MKCOL (OC-Total-Length): refused before any chunk.
    assert gina.request("MKCOL", f"{uploads}/big", None, **{"OC-Total-Length": str(2_000_000)}).status == 507
    # Chunks that fit, then the space fills up before the final MOVE: refused when it completes.
    data = os.urandom(600_000)
    assert gina.request("MKCOL", f"{uploads}/t1").status == 201
    for offset in range(0, len(data), 200_000):
        put = gina.request("PUT", f"{uploads}/t1/{offset:016d}", data[offset : offset + 200_000])
        assert put.status == 201, put
    assert gina.put("filler.bin", b"f" * 500_000) == 201
    move = gina.request(
        "MOVE",
        f"{uploads}/t1/.file",
        None,
        Destination="/remote.php/dav/files/gina/big.bin",
        **{"OC-Total-Length": str(len(data))},
    )
    assert move.status == 507, move
    assert gina.content("big.bin") is None and gina.quota_props()[0] == 500_000


def test_tus_over_quota_is_refused_when_announced(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    hank = new_user(stack, "hank")
    set_quota(dep, "hank", "1MB")
    meta = f"filename {b64encode(b'big.bin').decode()}"
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "2000000", "Upload-Metadata": meta}
    assert hank.request("POST", "", None, **headers).status == 507
    # Creation with upload: the announced length is refused before the body is stored.
    body = os.urandom(1_500_000)
    headers = {**headers, "Upload-Length": str(len(body)), "Content-Type": "application/offset+octet-stream"}
    assert hank.request("POST", "", body, **headers).status == 507
    assert hank.content("big.bin") is None and hank.quota_props() == (0, 1_000_000)


def test_copy_over_quota_is_refused(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    ida = new_user(stack, "ida")
    set_quota(dep, "ida", "1MB")
    data = os.urandom(600_000)
    assert ida.put("a.bin", data) == 201
    assert ida.request("MKCOL", "dir").status == 201
    assert ida.put("dir/b.bin", b"b" * 100) == 201
    copy = ida.request("COPY", "a.bin", None, Destination="/remote.php/dav/files/ida/c.bin")
    assert copy.status == 507, copy
    folder = ida.request("COPY", "dir", None, Destination="/remote.php/dav/files/ida/dir2")
    assert folder.status == 201  # 100 bytes still fit
    assert ida.content("c.bin") is None and ida.content("a.bin") == data
    assert ida.quota_props() == (600_200, 1_000_000 - 600_200)


def test_only_the_admin_sets_quotas(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    new_user(stack, "jack")
    jack = identity.Identity(user_id=_user_id(dep, "jack"), username="jack")
    request = pb.SetSpaceQuotaRequest(ref=pb.Reference(space_id=home_space_id(jack.user_id)), owner_id=jack.user_id)
    with pytest.raises(grpc.RpcError) as denied:
        call(dep, "gateway", pb_grpc.StorageStub, "SetSpaceQuota", request, token_for(dep, jack))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The admin must name the owner's own space: a mismatch is refused, not applied elsewhere.
    admin = identity.Identity(user_id=_user_id(dep, "admin"), username="admin")
    request.ref.space_id = home_space_id(admin.user_id)
    with pytest.raises(grpc.RpcError) as wrong:
        call(dep, "gateway", pb_grpc.StorageStub, "SetSpaceQuota", request, token_for(dep, admin))
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_bad_default_is_refused_at_start(stack: tuple[Deployment, webdav_stack.DavStack]) -> None:
    dep, _ = stack
    res = dep.ocis("storage-users", "server", env={"STORAGE_USERS_QUOTA": "plenty"}, timeout=30)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "STORAGE_USERS_QUOTA" in res.stderr


@needs("owncloudcmd")
def test_desktop_client_over_quota_uploads_what_fits_and_no_partial_file(
    stack: tuple[Deployment, webdav_stack.DavStack], tmp_path: Path
) -> None:
    dep, dav = stack
    kim = new_user(stack, "kim")
    set_quota(dep, "kim", "1MB")
    local, exclude = tmp_path / "kim", tmp_path / "exclude.lst"
    local.mkdir()
    exclude.write_text("")  # Debian's package lacks the system list: without one it aborts
    big = os.urandom(2_000_000)
    (local / "big.bin").write_bytes(big)
    (local / "small.txt").write_bytes(b"fits")
    args = ["--non-interactive", "--trust", "--exclude", str(exclude), "-u", "kim", "-p", "kim-password-1"]
    cmd = ["owncloudcmd", *args, "--max-sync-retries", "1", str(local), dav.root]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    # The client names the cause (it parks the file until the quota changes) and keeps its copy.
    assert res.returncode == 1 and "exceeds the quota" in res.stdout + res.stderr
    assert kim.names() == ["small.txt"] and kim.content("small.txt") == b"fits"
    assert (local / "big.bin").read_bytes() == big and kim.quota_props() == (4, 1_000_000 - 4)


def test_a_space_keeps_its_quota_and_older_spaces_follow_the_setting(tmp_path: Path) -> None:
    """In-process on the local driver: what the stored quota means across a change of the setting."""

    async def run() -> None:
        first = LocalDriver(StorageConfig(quota=Size(5000)), tmp_path)
        await first.open()
        await first.ensure_space("made", "u1")
        await first.ensure_space("older", "u2")
        await first.set_quota("not-yet", "u3", 100)
        await first.close()
        with sqlite3.connect(tmp_path / "metadata.db") as db:  # as a database from before per-space quotas
            db.execute("UPDATE spaces SET quota=-1 WHERE id='older'")
        driver = LocalDriver(StorageConfig(quota=Size(7000)), tmp_path)
        await driver.open()
        try:
            assert [await driver.quota(s) for s in ("made", "older", "not-yet")] == [(5000, 0), (7000, 0), (100, 0)]
            assert [(await driver.space(s)).quota for s in ("made", "older")] == [5000, -1]  # type: ignore[union-attr]
            sink = await driver.open_upload()
            await sink.write(b"x" * 101)
            with pytest.raises(Exception, match="quota"):
                await driver.commit_upload(Ref(space="not-yet", path="/a"), UploadOptions(), sink)
            assert (await driver.stat(Ref(space="not-yet", path="/"))).size == 0
        finally:
            await driver.close()

    asyncio.run(run())


def _user_id(dep: Deployment, name: str) -> str:
    return str(json.loads(ocis_ok(dep, "users", "show", name, "--json"))["id"])


def _quota_ref(dep: Deployment, name: str) -> pb.GetQuotaRequest:
    return pb.GetQuotaRequest(ref=pb.Reference(space_id=home_space_id(_user_id(dep, name))))
