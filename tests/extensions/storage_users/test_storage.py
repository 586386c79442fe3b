"""storage-users through the gateway: real processes over loopback, a minted internal token."""

from __future__ import annotations

import hashlib
import unicodedata
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from http.client import HTTPConnection
from urllib.parse import urlsplit

import grpc
import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.support.metadata import BACKENDS, metadata_env
from tests.support.storage_stack import ALICE, BOB, Stack, bulk_create, http, reason, ref, running_stack


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The storage tests on SQLite metadata and on PostgreSQL metadata."""
    with running_stack(metadata_env(request.param, request)) as s:
        yield s


def test_home_is_created_on_first_use_and_is_the_users_own(stack: Stack) -> None:
    home = stack.call("GetHome", pb.GetHomeRequest())
    assert home.space_id == ALICE.user_id and home.info.path == "/" and home.info.owner_id == ALICE.user_id
    again = stack.call("CreateHome", pb.CreateHomeRequest())
    assert again.info.id == home.info.id == f"{ALICE.user_id}!{ALICE.user_id}"


def test_create_stat_list_delete(stack: Stack) -> None:
    folder = stack.mkdir("/crud")
    assert folder.type == pb.RESOURCE_TYPE_CONTAINER and folder.permissions == "RDNVCK" and folder.path == "/crud"
    put = stack.upload("/crud/a.txt", b"hello")
    assert put.status == 201, put.body
    info = stack.stat("/crud/a.txt")
    assert (info.size, info.name, info.mime_type, info.permissions) == (5, "a.txt", "text/plain", "RDNVW")
    assert info.parent_id == folder.id and put.headers["OC-FileId"] == info.id
    assert put.headers["ETag"] == f'"{info.etag}"'
    listing = stack.call("ListContainer", pb.ListContainerRequest(ref=ref("/crud")))
    assert [i.name for i in listing.infos] == ["a.txt"] and listing.info.id == folder.id
    stack.call("Delete", pb.DeleteRequest(ref=ref("/crud")))
    with pytest.raises(grpc.RpcError) as err:
        stack.stat("/crud/a.txt")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and reason(err.value) == "not-found"


def test_errors_carry_status_and_reason(stack: Stack) -> None:
    stack.mkdir("/err")
    cases = [
        ("CreateContainer", pb.CreateContainerRequest(ref=ref("/err")), grpc.StatusCode.ALREADY_EXISTS, "exists"),
        (
            "CreateContainer",
            pb.CreateContainerRequest(ref=ref("/nope/x")),
            grpc.StatusCode.FAILED_PRECONDITION,
            "parent-missing",
        ),
        (
            "InitiateUpload",
            pb.InitiateUploadRequest(ref=ref("/nope/f"), size=1),
            grpc.StatusCode.FAILED_PRECONDITION,
            "parent-missing",
        ),
        (
            "InitiateUpload",
            pb.InitiateUploadRequest(ref=ref("/err"), size=1),
            grpc.StatusCode.FAILED_PRECONDITION,
            "is-a-container",
        ),
        ("Stat", pb.StatRequest(ref=ref("/err/../..")), grpc.StatusCode.INVALID_ARGUMENT, "bad-name"),
        ("Delete", pb.DeleteRequest(ref=ref("/")), grpc.StatusCode.PERMISSION_DENIED, "forbidden"),
        ("ListContainer", pb.ListContainerRequest(ref=ref("/missing")), grpc.StatusCode.NOT_FOUND, "not-found"),
    ]
    for method, request, code, why in cases:
        with pytest.raises(grpc.RpcError) as err:
            stack.call(method, request)
        assert (err.value.code(), reason(err.value)) == (code, why), method


def test_identity_is_required_and_spaces_are_private(stack: Stack) -> None:
    stack.mkdir("/private")
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Stat", pb.StatRequest(ref=ref("/private")), who=None)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Stat", pb.StatRequest(ref=ref("/private")), token="not-a-jwt")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Stat", pb.StatRequest(ref=ref("/private", space=ALICE.user_id)), who=BOB)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    bob_home = stack.call("GetHome", pb.GetHomeRequest(), who=BOB)
    assert bob_home.space_id == BOB.user_id and bob_home.info.size == 0


def test_move_keeps_id_and_etag_copy_makes_new_ids(stack: Stack) -> None:
    stack.mkdir("/mv")
    stack.mkdir("/mv/src")
    stack.upload("/mv/src/f.bin", b"x" * 10)
    before = stack.stat("/mv/src/f.bin")
    moved = stack.call("Move", pb.MoveRequest(source=ref("/mv/src/f.bin"), destination=ref("/mv/g.bin")))
    assert (moved.info.id, moved.info.etag, moved.info.path) == (before.id, before.etag, "/mv/g.bin")
    assert not moved.overwritten
    copied = stack.call("Copy", pb.CopyRequest(source=ref("/mv"), destination=ref("/mv-copy")))
    assert copied.info.id != stack.stat("/mv").id and copied.info.size == 10
    kids = stack.call("ListContainer", pb.ListContainerRequest(ref=ref("/mv-copy"))).infos
    assert sorted(k.name for k in kids) == ["g.bin", "src"]
    assert stack.download("/mv-copy/g.bin").body == b"x" * 10
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Move", pb.MoveRequest(source=ref("/mv/g.bin"), destination=ref("/mv-copy/g.bin")))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    over = stack.call(
        "Move", pb.MoveRequest(source=ref("/mv/g.bin"), destination=ref("/mv-copy/g.bin"), overwrite=True)
    )
    assert over.overwritten and over.info.id == before.id
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Move", pb.MoveRequest(source=ref("/mv"), destination=ref("/mv/src/inside")))
    assert reason(err.value) == "into-descendant"
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Move", pb.MoveRequest(source=ref("/mv/src"), destination=ref("/mv"), overwrite=True))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    by_id = stack.call("Stat", pb.StatRequest(ref=pb.Reference(node_id=before.id)))
    assert by_id.info.path == "/mv-copy/g.bin"


def test_every_change_propagates_etag_mtime_and_size_to_the_root(stack: Stack) -> None:
    for p in ("/deep", "/deep/a", "/deep/a/b"):
        stack.mkdir(p)
    chain = ["/", "/deep", "/deep/a", "/deep/a/b"]
    before = {p: stack.stat(p) for p in chain}
    sibling = stack.mkdir("/deep/sibling")
    stack.upload("/deep/a/b/file", b"12345678")
    after = {p: stack.stat(p) for p in chain}
    for p in chain:
        assert after[p].etag != before[p].etag, p
        assert after[p].mtime_ns >= before[p].mtime_ns, p
        assert after[p].size == before[p].size + 8, p
    assert stack.stat("/deep/sibling").etag == sibling.etag
    stack.call("Delete", pb.DeleteRequest(ref=ref("/deep/a/b/file")))
    assert stack.stat("/deep").size == before["/deep"].size and stack.stat("/").etag != after["/"].etag


def test_a_large_folder_lists_page_by_page(stack: Stack) -> None:
    stack.mkdir("/big")
    names = [f"entry-{i:05d}" for i in range(20_000)]
    assert bulk_create(stack, "/big", names) == 20_000
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = stack.call("ListContainer", pb.ListContainerRequest(ref=ref("/big"), page_size=5000, page_token=token))
        seen += [i.name for i in page.infos]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == names and pages == 4
    assert all(i.path == f"/big/{i.name}" for i in page.infos)


def test_checksums_are_computed_and_client_checksums_checked(stack: Stack) -> None:
    data = bytes(range(256)) * 4096
    put = stack.upload("/sums.bin", data, checksum="SHA1:" + hashlib.sha1(data).hexdigest())
    assert put.status == 201
    info = stack.stat("/sums.bin")
    expected = (hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest(), f"{zlib.adler32(data):08x}")
    assert (info.checksums.sha1, info.checksums.md5, info.checksums.adler32) == expected
    bad = stack.upload("/sums.bin", b"other", checksum="MD5:" + "0" * 32)
    assert bad.status == 400 and b"bad-checksum" in bad.body
    bad = stack.upload("/sums.bin", b"other", headers={"OC-Checksum": "ADLER32:00000000"})
    assert bad.status == 400
    assert stack.download("/sums.bin").body == data and stack.stat("/sums.bin").etag == info.etag


def test_download_ranges_and_conditionals(stack: Stack) -> None:
    data = b"0123456789" * 1000
    stack.upload("/range.txt", data, mtime_ns=1_600_000_000 * 10**9)
    info = stack.stat("/range.txt")
    assert info.mtime_ns == 1_600_000_000 * 10**9
    part = stack.download("/range.txt", {"Range": "bytes=10-19"})
    assert (part.status, part.body) == (206, b"0123456789")
    assert part.headers["ETag"] == f'"{info.etag}"' and part.headers["Content-Range"] == "bytes 10-19/10000"
    full = stack.download("/range.txt")
    assert full.status == 200 and full.body == data and full.headers["Last-Modified"] == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert stack.download("/range.txt", {"If-None-Match": f'"{info.etag}"'}).status == 304
    assert stack.download("/range.txt", {"If-None-Match": '"other"'}).status == 200
    init = stack.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=ref("/range.txt")))
    assert stack.download("/range.txt", {"If-Match": '"other"'}).status == 412
    assert stack.download("/range.txt", {"If-Match": f'"{info.etag}"'}).status == 200
    assert stack.download("/range.txt", {"If-Unmodified-Since": "Sat, 12 Sep 2020 00:00:00 GMT"}).status == 412
    assert set(init.DESCRIPTOR.fields_by_name) == {"download_url", "expires", "info"}  # no path: only the URL
    head = stack.download("/range.txt", method="HEAD")
    assert head.status == 200 and head.headers["Content-Length"] == "10000" and head.body == b""
    # One connection carries several downloads (a relaying ocdav keeps its connections).
    url = urlsplit(init.download_url)
    conn = HTTPConnection(url.netloc, timeout=30)
    try:
        for headers in ({}, {"Range": "bytes=10-19"}, {}):
            conn.request("GET", url.path, headers=headers)
            resp = conn.getresponse()
            assert resp.read() == (data[10:20] if headers else data) and not resp.will_close
    finally:
        conn.close()


def test_upload_conditions(stack: Stack) -> None:
    first = stack.upload("/cond.txt", b"v1", if_none_match=True)
    assert first.status == 201
    etag = stack.stat("/cond.txt").etag
    with pytest.raises(grpc.RpcError) as err:
        stack.upload("/cond.txt", b"v2", if_none_match=True)
    assert reason(err.value) == "if-none-match"
    with pytest.raises(grpc.RpcError) as err:
        stack.upload("/cond.txt", b"v2", if_match="stale")
    assert (err.value.code(), reason(err.value)) == (grpc.StatusCode.FAILED_PRECONDITION, "etag-mismatch")
    second = stack.upload("/cond.txt", b"v2", if_match=etag)
    assert second.status == 200 and stack.download("/cond.txt").body == b"v2"
    short = stack.upload("/cond.txt", b"v3", size=10)
    assert short.status == 400 and b"size-mismatch" in short.body
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/cond.txt"), size=4))
    chunked = urllib.request.Request(init.upload_url, data=iter([b"too ", b"long"] * 8), method="PUT")
    with pytest.raises(urllib.error.HTTPError) as http_err:  # chunked, longer than announced
        urllib.request.urlopen(chunked, timeout=30)
    assert http_err.value.code == 400
    assert stack.download("/cond.txt").body == b"v2"


def test_signed_urls_are_checked(stack: Stack) -> None:
    stack.upload("/signed.txt", b"data")
    url = stack.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=ref("/signed.txt"))).download_url
    assert http("GET", url + "x").status == 403
    assert http("PUT", url, b"evil").status == 403  # a download URL does not accept uploads
    assert http("GET", url).body == b"data"


def test_dead_properties_any_namespace(stack: Stack) -> None:
    stack.upload("/props.txt", b"p")
    key = "{http://example.com/ns}color"
    res = stack.call(
        "SetArbitraryMetadata",
        pb.SetArbitraryMetadataRequest(ref=ref("/props.txt"), metadata={key: "<b>blue</b>", "{DAV:}x": "1"}),
    )
    assert dict(res.info.arbitrary_metadata) == {key: "<b>blue</b>", "{DAV:}x": "1"}
    stack.call("UnsetArbitraryMetadata", pb.UnsetArbitraryMetadataRequest(ref=ref("/props.txt"), keys=["{DAV:}x"]))
    assert dict(stack.stat("/props.txt").arbitrary_metadata) == {key: "<b>blue</b>"}


def test_locks(stack: Stack) -> None:
    stack.mkdir("/locks")
    stack.upload("/locks/f.txt", b"v1")
    excl = stack.call(
        "Lock",
        pb.LockRequest(
            ref=ref("/locks/f.txt"), scope=pb.LOCK_SCOPE_EXCLUSIVE, owner="<d:href>me</d:href>", timeout_seconds=60
        ),
    )
    token = excl.lock.token
    assert token.startswith("opaquelocktoken:") and not excl.created and excl.lock.timeout_seconds == 60
    assert [lk.token for lk in stack.stat("/locks/f.txt").locks] == [token]
    with pytest.raises(grpc.RpcError) as err:
        stack.upload("/locks/f.txt", b"v2")
    assert err.value.code() == grpc.StatusCode.ABORTED and reason(err.value) == "locked"
    assert stack.upload("/locks/f.txt", b"v2", lock_tokens=[token]).status == 200
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Lock", pb.LockRequest(ref=ref("/locks/f.txt"), scope=pb.LOCK_SCOPE_SHARED))
    assert err.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Unlock", pb.UnlockRequest(ref=ref("/locks/f.txt"), token="opaquelocktoken:wrong"))
    assert reason(err.value) == "lock-token-mismatch"
    refreshed = stack.call(
        "RefreshLock", pb.RefreshLockRequest(ref=ref("/locks/f.txt"), token=token, timeout_seconds=-1)
    )
    assert refreshed.lock.timeout_seconds == 0 and refreshed.lock.expires == 0
    stack.call("Unlock", pb.UnlockRequest(ref=ref("/locks/f.txt"), token=token))
    shared = [
        stack.call("Lock", pb.LockRequest(ref=ref("/locks/f.txt"), scope=pb.LOCK_SCOPE_SHARED)).lock.token
        for _ in range(2)
    ]
    assert sorted(lk.token for lk in stack.call("GetLock", pb.GetLockRequest(ref=ref("/locks/f.txt"))).locks) == sorted(
        shared
    )
    for t in shared:
        stack.call("Unlock", pb.UnlockRequest(ref=ref("/locks/f.txt"), token=t))


def test_depth_infinity_lock_covers_the_tree_and_lock_null_creates_a_file(stack: Stack) -> None:
    stack.mkdir("/tree")
    lock = stack.call("Lock", pb.LockRequest(ref=ref("/tree"), depth_infinity=True)).lock
    with pytest.raises(grpc.RpcError) as err:
        stack.mkdir("/tree/sub")
    assert err.value.code() == grpc.StatusCode.ABORTED
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=ref("/tree/sub"), lock_tokens=[lock.token]))
    assert [lk.root_path for lk in stack.stat("/tree/sub").locks] == ["/tree"]
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Delete", pb.DeleteRequest(ref=ref("/tree")))
    assert err.value.code() == grpc.StatusCode.ABORTED
    stack.call("Unlock", pb.UnlockRequest(ref=ref("/tree/sub"), token=lock.token))
    null = stack.call("Lock", pb.LockRequest(ref=ref("/tree/new.txt")))
    assert null.created and null.info.size == 0 and null.info.type == pb.RESOURCE_TYPE_FILE
    assert stack.download("/tree/new.txt").body == b""
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Lock", pb.LockRequest(ref=ref("/tree/none/x")))
    assert reason(err.value) == "parent-missing"


def test_names_round_trip_byte_exact_and_bad_names_are_refused(stack: Stack) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "/café"), unicodedata.normalize("NFD", "/café")
    assert nfc != nfd
    stack.upload(nfc, b"nfc")
    stack.upload(nfd, b"nfd")
    assert (stack.stat(nfc).name, stack.stat(nfd).name) == (nfc[1:], nfd[1:])
    assert stack.download(nfd).body == b"nfd" and stack.download(nfc).body == b"nfc"
    emoji = "/🦉 snow ☃ %20 #?.txt"
    stack.upload(emoji, b"owl")
    assert stack.stat(emoji).path == emoji
    for bad in ("/" + "x" * 256, "/a\x00b", "/.."):
        with pytest.raises(grpc.RpcError) as err:
            stack.mkdir(bad)
        assert (err.value.code(), reason(err.value)) == (grpc.StatusCode.INVALID_ARGUMENT, "bad-name")
    assert stack.mkdir("/" + "é" * 127).name == "é" * 127  # 254 bytes is fine


def test_a_depth_0_lock_on_a_folder_guards_its_membership_not_its_members(stack: Stack) -> None:
    stack.mkdir("/d0")
    stack.upload("/d0/inner.txt", b"v1")
    lock = stack.call("Lock", pb.LockRequest(ref=ref("/d0"), depth_infinity=False)).lock
    assert stack.upload("/d0/inner.txt", b"v2").status == 200  # content of a member: not guarded
    for method, request in [
        ("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/d0/new.txt"), size=1)),
        ("CreateContainer", pb.CreateContainerRequest(ref=ref("/d0/sub"))),
        ("Delete", pb.DeleteRequest(ref=ref("/d0/inner.txt"))),
        ("Move", pb.MoveRequest(source=ref("/d0/inner.txt"), destination=ref("/moved.txt"))),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            stack.call(method, request)
        assert err.value.code() == grpc.StatusCode.ABORTED, method
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=ref("/d0/sub"), lock_tokens=[lock.token]))
    stack.call("Unlock", pb.UnlockRequest(ref=ref("/d0"), token=lock.token))
