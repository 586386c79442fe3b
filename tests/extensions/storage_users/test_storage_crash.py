"""Nothing lost: SIGKILL of storage-users mid-upload and right after an answer, concurrent
uploads to one path, and quota (which refuses before anything is written)."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import grpc
import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.support.harness import wait_until
from tests.support.metadata import BACKENDS, metadata_env
from tests.support.storage_stack import Reply, Stack, blob_files, reason, ref, running_stack, start_storage

QUOTA = 20_000_000


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """On SQLite and on PostgreSQL metadata: a commit is one transaction on either."""
    with running_stack({"STORAGE_USERS_QUOTA": str(QUOTA), **metadata_env(request.param, request)}) as s:
        yield s


def restart_storage(stack: Stack) -> None:
    stack.storage.kill()  # SIGKILL
    stack.storage = start_storage(stack.dep, stack.storage_env)
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway reaches the restarted storage")


def tmp_files(stack: Stack) -> list[str]:
    return [p.name for p in (stack.dep.data_dir / "storage-users" / "blobs" / "tmp").iterdir()]


def test_sigkill_during_upload_keeps_the_previous_content(stack: Stack) -> None:
    assert stack.upload("/crash.bin", b"previous content").status == 201
    before = stack.stat("/crash.bin")
    size = 8 << 20
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/crash.bin"), size=size))
    url = urlsplit(init.upload_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {size}\r\n\r\n"
        sock.sendall(head.encode() + b"n" * (3 << 20))
        wait_until(lambda: tmp_files(stack), what="the upload's temp file")
        restart_storage(stack)
    assert tmp_files(stack) == []
    after = stack.stat("/crash.bin")
    assert (after.etag, after.size, after.checksums.sha1) == (before.etag, before.size, before.checksums.sha1)
    assert stack.download("/crash.bin").body == b"previous content"


def test_a_client_that_hangs_up_mid_upload_leaves_nothing_behind(stack: Stack) -> None:
    assert stack.upload("/hangup.bin", b"kept").status == 201
    size = 4 << 20
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/hangup.bin"), size=size))
    url = urlsplit(init.upload_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {size}\r\n\r\n"
        sock.sendall(head.encode() + b"h" * (2 << 20))
        wait_until(lambda: tmp_files(stack), what="the upload's temp file")
    wait_until(lambda: tmp_files(stack) == [], what="the temp file removed after the hang-up")
    assert stack.download("/hangup.bin").body == b"kept"


def test_an_answered_upload_survives_sigkill_right_after(stack: Stack) -> None:
    data = b"durable " * 50_000
    put = stack.upload("/durable.bin", data)
    assert put.status == 201
    restart_storage(stack)
    info = stack.stat("/durable.bin")
    assert f'"{info.etag}"' == put.headers["ETag"] and info.size == len(data)
    assert stack.download("/durable.bin").body == data


def test_concurrent_uploads_to_one_path_end_with_one_complete_winner_and_the_rest_as_versions(stack: Stack) -> None:
    payloads = [bytes([65 + i]) * (1_500_000 + i) for i in range(6)]
    replies: list[Reply] = []

    def put(data: bytes) -> None:
        replies.append(stack.upload("/race.bin", data))

    threads = [threading.Thread(target=put, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status for r in replies) == [200] * 5 + [201]
    body = stack.download("/race.bin").body
    assert body in payloads
    info = stack.stat("/race.bin")
    assert info.checksums.sha1 == hashlib.sha1(body).hexdigest() and info.size == len(body)
    node = info.id.split("!")[1]
    kept = stack.call("ListFileVersions", pb.ListFileVersionsRequest(ref=ref("/race.bin"))).versions
    assert sorted(v.size for v in kept) == sorted(len(p) for p in payloads if p != body)  # the losers are versions
    assert len([p for p in blob_files(stack) if p.name.startswith(node)]) == 1 + len(kept)  # nothing else stays


def test_quota_refuses_and_writes_nothing(stack: Stack) -> None:
    quota = stack.call("GetQuota", pb.GetQuotaRequest())
    assert quota.total == QUOTA and not quota.unlimited and quota.used + quota.remaining == QUOTA
    big = QUOTA - quota.used + 1
    with pytest.raises(grpc.RpcError) as err:
        stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref("/toobig.bin"), size=big))
    assert (err.value.code(), reason(err.value)) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "quota")
    unknown = stack.upload("/toobig.bin", b"z" * big, size=-1)
    assert unknown.status == 507
    with pytest.raises(grpc.RpcError) as err:
        stack.stat("/toobig.bin")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert tmp_files(stack) == []
    half = (QUOTA - quota.used) // 2 + 1
    assert stack.upload("/half.bin", b"h" * half).status == 201
    with pytest.raises(grpc.RpcError) as err:
        stack.call("Copy", pb.CopyRequest(source=ref("/half.bin"), destination=ref("/half2.bin")))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stack.call("GetQuota", pb.GetQuotaRequest()).used == quota.used + half
