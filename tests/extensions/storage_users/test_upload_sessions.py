"""Resumable upload sessions (the storage side of TUS and chunking NG), through the gateway
with real storage-users and gateway processes: durable offsets across SIGKILL, named chunks
out of order, checksum and length checks at finish, abort, expiry, quota and ownership."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest

from extensions.storage_users.config import StorageUsersConfig
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.storage.driver import Base
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.sessions.upload_sessions import Finish, UploadSessions
from tests.extensions.storage_users.test_storage_crash import restart_storage
from tests.support.harness import wait_until
from tests.support.storage_stack import BOB, Reply, Stack, http, reason, ref, running_stack

MiB = 1 << 20
QUOTA = 4 * MiB
EXPIRATION = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def uploads_dir(stack: Stack) -> Path:
    return stack.dep.data_dir / "storage-users" / "uploads"


def folder_of(stack: Stack, session_id: str) -> Path:
    return uploads_dir(stack) / hashlib.sha256(session_id.encode()).hexdigest()[:32]


def session_folders(stack: Stack) -> list[Path]:
    return [p for p in uploads_dir(stack).iterdir() if p.is_dir()]


def names(stack: Stack, path: str = "/") -> list[str]:
    return [i.name for i in stack.call("ListContainer", pb.ListContainerRequest(ref=ref(path))).infos]


def create(stack: Stack, **fields: object) -> pb.UploadSession:
    return stack.call("CreateUploadSession", pb.CreateUploadSessionRequest(**fields))  # type: ignore[arg-type]


def get(stack: Stack, session_id: str) -> pb.UploadSession:
    return stack.call("GetUploadSession", pb.GetUploadSessionRequest(session_id=session_id))


def finish(stack: Stack, session_id: str, **fields: object) -> pb.FinishUploadSessionResponse:
    request = pb.FinishUploadSessionRequest(session_id=session_id, **fields)  # type: ignore[arg-type]
    return stack.call("FinishUploadSession", request)


def patch(url: str, offset: int, data: bytes) -> Reply:
    return http("PATCH", url, data, {"Upload-Offset": str(offset)})


def announce_only(method: str, url: str, length: int) -> int:
    """Send only the headers of a request announcing `length` bytes; the answer's status."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.netloc, timeout=30)
    try:
        conn.putrequest(method, parts.path)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def rpc_error(fn: Callable[..., object], *args: object, **kwargs: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn(*args, **kwargs)
    return info.value


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_appends_survive_sigkill_resume_at_the_durable_offset_and_finish(stack: Stack) -> None:
    data = bytes(range(256)) * (24 * 4096)  # 6 MiB
    s = create(stack, ref=ref("/resumed.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    assert s.offset == 0 and s.length == len(data) and s.id.endswith("!" + s.name)
    first = patch(s.data_url, 0, data[: 2 * MiB])
    assert first.status == 204 and first.headers["Upload-Offset"] == str(2 * MiB)
    assert "resumed.bin" not in names(stack)

    # A second piece arrives slowly and storage-users is SIGKILLed in the middle of it.
    url = urlsplit(s.data_url)
    data_file = folder_of(stack, s.id) / "data"
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = (
            f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpload-Offset: {2 * MiB}\r\n"
            f"Content-Length: {2 * MiB}\r\n\r\n"
        )
        sock.sendall(head.encode())
        for i in range(6):  # 1.5 MiB of the 2 in small slow pieces
            sock.sendall(data[2 * MiB + i * 256 * 1024 : 2 * MiB + (i + 1) * 256 * 1024])
            time.sleep(0.02)
        wait_until(lambda: data_file.stat().st_size > 2 * MiB, what="the interrupted piece reaching the file")
        restart_storage(stack)

    status = http("HEAD", s.data_url)
    assert status.status == 200 and status.headers["Upload-Offset"] == str(2 * MiB)
    assert get(stack, s.id).offset == 2 * MiB
    assert "resumed.bin" not in names(stack)
    stale = patch(s.data_url, 3 * MiB, data[3 * MiB :])
    assert stale.status == 409 and b"offset-mismatch" in stale.body
    assert patch(s.data_url, 2 * MiB, data[2 * MiB : 5 * MiB]).headers["Upload-Offset"] == str(5 * MiB)
    assert patch(s.data_url, 5 * MiB, data[5 * MiB :]).headers["Upload-Offset"] == str(len(data))
    assert "resumed.bin" not in names(stack)

    done = finish(stack, s.id)
    assert done.created and done.info.size == len(data) and done.info.checksums.sha1 == sha1(data)
    assert done.info.etag and done.info.id and done.info.permissions == "RDNVW"
    assert stack.download("/resumed.bin").body == data
    assert stack.stat("/resumed.bin").etag == done.info.etag
    assert session_folders(stack) == []  # the bytes went with the commit
    again = finish(stack, s.id)  # a retried finish answers with the same commit
    assert (again.info.id, again.info.etag, again.created) == (done.info.id, done.info.etag, True)
    assert get(stack, s.id).finished


def test_a_client_hanging_up_mid_piece_keeps_a_valid_prefix_to_resume_after(stack: Stack) -> None:
    data = bytes(range(251)) * (2 * MiB // 251 + 1)
    data = data[: 2 * MiB]
    s = create(stack, ref=ref("/hangup.bin"), length=len(data))
    url = urlsplit(s.data_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpload-Offset: 0\r\n"
        sock.sendall(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data[: 3 * MiB // 2])
        # Hang up once the server is reading: a request lost before its handler ran keeps nothing.
        stored = folder_of(stack, s.id) / "data"
        wait_until(lambda: stored.stat().st_size >= MiB, what="the server reading the body")
    wait_until(lambda: int(http("HEAD", s.data_url).headers["Upload-Offset"]), what="bytes kept after the hang-up")

    def resume() -> bool:  # what a client does: ask for the offset, send the rest (409 while the old request ends)
        offset = int(http("HEAD", s.data_url).headers["Upload-Offset"])
        assert 0 < offset <= 3 * MiB // 2
        return patch(s.data_url, offset, data[offset:]).status == 204

    wait_until(resume, what="the resumed upload")
    assert finish(stack, s.id).info.checksums.sha1 == sha1(data)


def test_named_chunks_out_of_order_and_in_parallel_assemble_in_name_order(stack: Stack) -> None:
    pieces = [bytes([65 + i]) * (MiB + i) for i in range(5)]
    data = b"".join(pieces)
    offsets = [sum(len(p) for p in pieces[:i]) for i in range(len(pieces))]
    s = create(stack, name="transfer-1234", length=-1)
    assert s.id.endswith("!transfer-1234") and s.target.path == ""
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda i: http("PUT", f"{s.data_url}/{offsets[i]:016d}", pieces[i]), [4, 2, 0, 3, 1]))
    assert [r.status for r in replies] == [201] * 5
    assert http("PUT", f"{s.data_url}/{offsets[1]:016d}", pieces[1]).status == 204  # a retried chunk replaces
    listed = get(stack, "transfer-1234")  # a bare name is the caller's own session
    assert [(c.name, c.size) for c in listed.chunks] == [(f"{o:016d}", len(p)) for o, p in zip(offsets, pieces)]
    assert "assembled.bin" not in names(stack)
    assert s.id in [x.id for x in stack.call("ListUploadSessions", pb.ListUploadSessionsRequest()).sessions]

    wrong = rpc_error(finish, stack, s.id, ref=ref("/assembled.bin"), length=len(data) + 1)
    assert wrong.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(wrong) == "size-mismatch"
    done = finish(stack, s.id, ref=ref("/assembled.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    assert done.created and done.info.checksums.sha1 == sha1(data)
    assert stack.download("/assembled.bin").body == data


def test_a_checksum_mismatch_at_finish_commits_nothing(stack: Stack) -> None:
    data = b"checked " * 100_000
    s = create(stack, ref=ref("/checked.bin"), length=len(data), checksum=f"SHA1:{sha1(b'other')}")
    assert patch(s.data_url, 0, data).status == 204
    exc = rpc_error(finish, stack, s.id)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(exc) == "bad-checksum"
    assert "checked.bin" not in names(stack)
    assert list((stack.dep.data_dir / "storage-users" / "blobs" / "tmp").iterdir()) == []
    # The session stays (the client may fix the checksum or abort).
    assert finish(stack, s.id, checksum=f"SHA1:{sha1(data)}").info.size == len(data)


def test_abort_reclaims_the_space(stack: Stack) -> None:
    s = create(stack, ref=ref("/aborted.bin"), length=3 * MiB)
    assert patch(s.data_url, 0, b"a" * (2 * MiB)).status == 204
    assert sum((f / "data").stat().st_size for f in session_folders(stack)) == 2 * MiB
    stack.call("DeleteUploadSession", pb.DeleteUploadSessionRequest(session_id=s.id))
    assert session_folders(stack) == []
    assert rpc_error(get, stack, s.id).code() == grpc.StatusCode.NOT_FOUND
    assert http("HEAD", s.data_url).status == 404
    assert patch(s.data_url, 2 * MiB, b"late").status == 404


def test_another_user_cannot_see_or_touch_a_session(stack: Stack) -> None:
    s = create(stack, ref=ref("/mine.bin"), length=4)
    for method, request in [
        ("GetUploadSession", pb.GetUploadSessionRequest(session_id=s.id)),
        ("FinishUploadSession", pb.FinishUploadSessionRequest(session_id=s.id)),
        ("DeleteUploadSession", pb.DeleteUploadSessionRequest(session_id=s.id)),
    ]:
        exc = rpc_error(stack.call, method, request, BOB)
        assert exc.code() == grpc.StatusCode.NOT_FOUND, method
    assert stack.call("ListUploadSessions", pb.ListUploadSessionsRequest(), BOB).sessions == []
    exc = rpc_error(
        stack.call, "CreateUploadSession", pb.CreateUploadSessionRequest(ref=ref("/x", s.id.split("!")[0])), BOB
    )
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    assert get(stack, s.id).id == s.id


def test_sessions_expire_with_their_bytes_and_quota_is_checked() -> None:
    env = {"STORAGE_USERS_UPLOAD_EXPIRATION": f"{EXPIRATION}s", "STORAGE_USERS_QUOTA": str(QUOTA)}
    with running_stack(env) as stack:
        exc = rpc_error(create, stack, ref=ref("/huge.bin"), length=QUOTA + 1)
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(exc) == "quota"
        unknown = create(stack, name="unknown-length", length=-1)
        assert announce_only("PUT", f"{unknown.data_url}/0", QUOTA + 1) == 507  # refused before the body

        running = create(stack, ref=ref("/expiring.bin"), length=2 * MiB)
        assert patch(running.data_url, 0, b"e" * MiB).status == 204
        chunked = create(stack, name="expiring-chunks", length=-1)
        assert http("PUT", f"{chunked.data_url}/{0:016d}", b"c" * MiB).status == 201  # joined directly
        wait_until(lambda: len(session_folders(stack)) == 0, 4 * EXPIRATION, what="the janitor removing sessions")
        assert rpc_error(get, stack, running.id).code() == grpc.StatusCode.NOT_FOUND
        assert http("HEAD", running.data_url).status in (403, 404)

        # Expired while storage-users was down: removed at start.
        stopped = create(stack, ref=ref("/expired-offline.bin"), length=MiB)
        assert patch(stopped.data_url, 0, b"o" * 1000).status == 204
        stack.storage.kill()
        wait_until(lambda: time.time() > stopped.expires, 2 * EXPIRATION + 2, what="the session's expiry")
        restart_storage(stack)
        assert session_folders(stack) == []
        assert stack.call("ListUploadSessions", pb.ListUploadSessionsRequest()).sessions == []


async def _body(data: bytes) -> AsyncIterator[list[bytes]]:
    yield [data]


async def local_sessions(
    tmp_path: Path, driver_class: type[LocalDriver] = LocalDriver
) -> tuple[LocalDriver, UploadSessions]:
    """Alice's space and upload sessions on it, in this process over a temp data dir."""
    driver = driver_class(StorageUsersConfig(), tmp_path)
    await driver.open()
    await driver.ensure_space("alice-id", "alice-id")
    sessions = UploadSessions(driver, tmp_path, 3600)
    await sessions.open()
    return driver, sessions


def test_a_finish_retried_after_a_crash_past_the_commit_answers_with_that_commit(tmp_path: Path) -> None:
    """The driver and sessions in this process on a temp data dir: commit, then "crash" before
    the answer is recorded (a fresh UploadSessions over the same files, as after a restart)."""

    async def run() -> None:
        driver = LocalDriver(StorageUsersConfig(), tmp_path)
        await driver.open()
        await driver.ensure_space("alice-id", "alice-id")
        target = Ref(space="alice-id", path="/retried.bin")
        first = UploadSessions(driver, tmp_path, 3600)
        await first.open()
        s = first.new("alice-id", "alice-id", "", target, 5, UploadOptions(), {})
        await first.create(s)
        await first.append(s.id, 0, _body(b"hello"), 5)
        s = await first.get(s.id, "alice-id")
        committed, _ = await first._commit(s, target, replace(s.opts, size=5), 5)
        first.close()

        second = UploadSessions(driver, tmp_path, 3600)
        await second.open()
        node, created = await second.finish(s.id, "alice-id", Finish())
        assert (node.id, node.etag, node.rev, created) == (committed.id, committed.etag, committed.rev, True)
        assert (await driver.stat(target)).etag == committed.etag  # no second revision
        second.close()
        await driver.close()

    asyncio.run(run())


class StreamingDriver(LocalDriver):
    """The local driver without its rename fast path: finishing goes through the generic
    `Base.commit_file` (what any third-party driver gets)."""

    commit_file = Base.commit_file


def test_a_driver_without_a_file_commit_still_finishes_sessions(tmp_path: Path) -> None:
    async def run() -> None:
        driver, sessions = await local_sessions(tmp_path, StreamingDriver)
        s = await sessions.create(sessions.new("alice-id", "alice-id", "t-1", None, -1, UploadOptions(), {}))
        for name, piece in [("0000000000000006", b"world!"), ("0000000000000000", b"hello ")]:
            await sessions.put_chunk(s.id, name, _body(piece), len(piece))
        target = Ref(space="alice-id", path="/streamed.txt")
        node, created = await sessions.finish(s.id, "alice-id", Finish(target=target, length=12))
        assert created and node.size == 12 and node.sha1 == sha1(b"hello world!")
        assert [p for p in (tmp_path / "uploads").iterdir() if p.is_dir()] == []  # bytes gone with the commit
        sessions.close()
        await driver.close()

    asyncio.run(run())


def test_chunks_are_joined_ahead_and_a_replaced_or_restarted_join_starts_over(tmp_path: Path) -> None:
    """Chunks arriving in offset order are joined while the upload goes on; a chunk replaced after
    it was joined, and a finish after a restart (nothing joined in memory), still commit the right bytes."""
    one, two, tail = b"1" * MiB, b"2" * MiB, b"tail"

    async def put(sessions: UploadSessions, session_id: str, offset: int, data: bytes) -> None:
        await sessions.put_chunk(session_id, f"{offset:016d}", _body(data), len(data))
        await sessions.joins.settled()  # the join running ahead, done

    async def run() -> None:
        driver, sessions = await local_sessions(tmp_path)
        s = await sessions.create(sessions.new("alice-id", "alice-id", "t-1", None, -1, UploadOptions(), {}))
        joined = sessions.files.folder(s.id) / "assembled"
        await put(sessions, s.id, 0, one)
        await put(sessions, s.id, MiB, two)
        assert joined.read_bytes() == one + two  # joined before the finish
        await put(sessions, s.id, 0, b"0" * MiB)  # a retried chunk with other bytes
        await put(sessions, s.id, 2 * MiB, tail)
        target = Ref(space="alice-id", path="/joined.bin")
        node, _ = await sessions.finish(s.id, "alice-id", Finish(target=target, length=2 * MiB + 4))
        data = b"0" * MiB + two + tail
        assert node.sha1 == sha1(data) and (await driver.download(target))[1].read_bytes() == data  # type: ignore[union-attr]

        s = await sessions.create(sessions.new("alice-id", "alice-id", "t-2", None, -1, UploadOptions(), {}))
        await put(sessions, s.id, 0, one)
        sessions.close()  # a restart: the new process knows nothing of what was joined
        again = UploadSessions(driver, tmp_path, 3600)
        await again.open()
        await put(again, s.id, MiB, two)
        target = Ref(space="alice-id", path="/restarted.bin")
        node, _ = await again.finish(s.id, "alice-id", Finish(target=target, length=2 * MiB))
        assert node.sha1 == sha1(one + two) and (await driver.download(target))[1].read_bytes() == one + two  # type: ignore[union-attr]
        assert (await driver.download(Ref(space="alice-id", path="/joined.bin")))[1].read_bytes() == data  # type: ignore[union-attr]
        again.close()
        await driver.close()

    asyncio.run(run())
