"""Chunking NG chunks that arrive in offset order are written once, straight into the session's
joined file, with real storage-users and gateway processes: no chunk file on disk, listed all the
same, resumable across SIGKILL (mid-body and right after the answer), re-sent and replaced chunks
still assembled right, and nothing left behind after DELETE."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.storage.resources import Ref, UploadOptions
from ocisd.storage.sessions.upload_sessions import UploadSessions
from tests.extensions.storage_users.test_storage_crash import restart_storage
from tests.extensions.storage_users.test_upload_sessions import (
    _body,
    create,
    finish,
    folder_of,
    get,
    local_sessions,
    names,
    rpc_error,
    session_folders,
    sha1,
)
from tests.support.harness import wait_until
from tests.support.storage_stack import Stack, http, ref, running_stack

MiB = 1 << 20
PIECE = 2 * MiB


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def put(url: str, offset: int, data: bytes) -> int:
    return http("PUT", f"{url}/{offset:016d}", data).status


def chunk_files(stack: Stack, session_id: str) -> list[str]:
    return sorted(p.name for p in (folder_of(stack, session_id) / "chunks").iterdir())


def listed(stack: Stack, session_id: str) -> list[tuple[str, int]]:
    return [(c.name, c.size) for c in get(stack, session_id).chunks]


def expected(offsets: list[int], data: bytes) -> list[tuple[str, int]]:
    ends = offsets[1:] + [len(data)]
    return [(f"{o:016d}", end - o) for o, end in zip(offsets, ends)]


def test_in_order_chunks_are_written_once_and_survive_sigkill_mid_body_and_after_the_answer(stack: Stack) -> None:
    data = os.urandom(3 * PIECE + 1000)
    offsets = [0, PIECE, 2 * PIECE, 3 * PIECE]
    s = create(stack, name="direct-1", length=-1)
    assembled = folder_of(stack, s.id) / "assembled"
    assert [put(s.data_url, o, data[o : o + PIECE]) for o in offsets[:2]] == [201, 201]
    # Written once: into the joined file, no chunk file; listed all the same.
    assert chunk_files(stack, s.id) == [] and assembled.stat().st_size == 2 * PIECE
    assert listed(stack, s.id) == expected(offsets[:2], data[: 2 * PIECE])

    # The third chunk arrives slowly and storage-users is SIGKILLed in the middle of its body.
    url = urlsplit(f"{s.data_url}/{offsets[2]:016d}")
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {PIECE}\r\n\r\n".encode())
        for i in range(6):  # 1.5 MiB of the 2, in small slow pieces
            sock.sendall(data[offsets[2] + i * 256 * 1024 : offsets[2] + (i + 1) * 256 * 1024])
            time.sleep(0.02)
        wait_until(lambda: assembled.stat().st_size >= 2 * PIECE + MiB, what="the interrupted chunk reaching the file")
        restart_storage(stack)
    # Resuming, the client sees exactly the complete chunks; it sends the rest (straight in again:
    # the restarted process resumed the join from its journal).
    assert listed(stack, s.id) == expected(offsets[:2], data[: 2 * PIECE])
    assert put(s.data_url, offsets[2], data[offsets[2] : offsets[3]]) == 201
    assert put(s.data_url, offsets[3], data[offsets[3] :]) == 201
    restart_storage(stack)  # right after the answer
    assert listed(stack, s.id) == expected(offsets, data)
    assert chunk_files(stack, s.id) == []
    assert "direct.bin" not in names(stack)

    done = finish(stack, s.id, ref=ref("/direct.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    assert done.created and done.info.checksums.sha1 == sha1(data)
    assert stack.download("/direct.bin").body == data
    assert not folder_of(stack, s.id).exists()


def test_re_sent_and_replaced_chunks_still_assemble_right(stack: Stack) -> None:
    data = os.urandom(3 * PIECE)
    offsets = [0, PIECE, 2 * PIECE]
    s = create(stack, name="direct-2", length=-1)
    assert [put(s.data_url, o, data[o : o + PIECE]) for o in offsets] == [201] * 3
    assert chunk_files(stack, s.id) == []
    # A retried chunk (same bytes) and then a replaced one (other bytes) go to chunk files; the
    # chunks joined after them, whose bytes lived only in the joined file, become chunk files too.
    assert put(s.data_url, offsets[1], data[PIECE : 2 * PIECE]) == 204
    data = os.urandom(PIECE) + data[PIECE:]
    assert put(s.data_url, 0, data[:PIECE]) == 204
    every = [f"{o:016d}" for o in offsets]
    wait_until(lambda: chunk_files(stack, s.id) == every, what="the join cut back to before the replaced chunk")
    assert listed(stack, s.id) == expected(offsets, data)
    done = finish(stack, s.id, ref=ref("/replaced.bin"), length=len(data), checksum=f"SHA1:{sha1(data)}")
    assert done.info.checksums.sha1 == sha1(data) and stack.download("/replaced.bin").body == data


def test_delete_reclaims_directly_joined_chunks_even_while_one_hangs(stack: Stack) -> None:
    s = create(stack, name="direct-3", length=-1)
    assert put(s.data_url, 0, b"d" * MiB) == 201
    folder: Path = folder_of(stack, s.id)
    assert (folder / "assembled").stat().st_size == MiB and chunk_files(stack, s.id) == []
    url = urlsplit(f"{s.data_url}/{MiB:016d}")
    with socket.create_connection((url.hostname, url.port)) as sock:  # a stalled client mid-chunk
        sock.sendall(f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {2 * MiB}\r\n\r\n".encode())
        sock.sendall(b"s" * (3 * MiB // 2))
        wait_until(lambda: (folder / "assembled").stat().st_size >= 2 * MiB, what="the stalled chunk reaching the file")
        stack.call("DeleteUploadSession", pb.DeleteUploadSessionRequest(session_id=s.id))
        assert not folder.exists() and folder not in session_folders(stack)
    assert rpc_error(get, stack, s.id).code() == grpc.StatusCode.NOT_FOUND
    assert put(s.data_url, MiB, b"late") == 404


def test_a_joined_file_shared_with_a_commit_is_copied_before_it_is_written(tmp_path: Path) -> None:
    """In this process on a temp data dir: a finish commits (the revision is a hard link of the
    joined file), the process "crashes" before recording it, and a late chunk arrives in order."""

    async def run() -> None:
        driver, first = await local_sessions(tmp_path)
        s = await first.create(first.new("alice-id", "alice-id", "t-1", None, -1, UploadOptions(), {}))
        await first.put_chunk(s.id, f"{0:016d}", _body(b"hello"), 5)
        target = Ref(space="alice-id", path="/shared.txt")
        s = await first.get(s.id, "alice-id")
        await first._commit(s, target, replace(s.opts, size=5), 5)
        first.close()

        second = UploadSessions(driver, tmp_path, 3600)
        await second.open()
        joined = second.files.folder(s.id) / "assembled"
        assert joined.stat().st_nlink == 2  # the committed revision is this very file
        assert await second.put_chunk(s.id, f"{5:016d}", _body(b" world"), 6)
        assert [size for _, size, _ in second.files.chunks(s.id)] == [5, 6]
        assert (await driver.download(target))[1].read_bytes() == b"hello"  # type: ignore[union-attr]
        assert joined.read_bytes() == b"hello world" and joined.stat().st_nlink == 1
        second.close()
        await driver.close()

    asyncio.run(run())
