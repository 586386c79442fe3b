"""A signed upload URL commits once: a second PUT gets 403 and changes nothing, also after a
SIGKILL and restart of storage-users; a PUT that failed before its commit wrote nothing and
leaves the URL usable; a new URL (what a retrying client gets) works."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.extensions.storage_users.test_storage_crash import restart_storage, tmp_files
from tests.support.harness import wait_until
from tests.support.storage_stack import Stack, http, ref, running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def upload_url(stack: Stack, path: str, size: int) -> str:
    return str(stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref(path), size=size)).upload_url)


def assert_used(stack: Stack, url: str, path: str, content: bytes) -> None:
    again = http("PUT", url, b"X" * len(content))
    assert again.status == 403 and json.loads(again.body)["reason"] == "url-used"
    assert stack.download(path).body == content


def test_a_second_put_is_refused_also_after_a_restart(stack: Stack) -> None:
    url = upload_url(stack, "/once.txt", 5)
    assert http("PUT", url, b"first").status == 201
    assert_used(stack, url, "/once.txt", b"first")
    restart_storage(stack)
    assert_used(stack, url, "/once.txt", b"first")
    assert stack.upload("/once.txt", b"fresh URL").status == 200  # a retrying client initiates again


def test_a_put_that_failed_before_its_commit_leaves_the_url_usable(stack: Stack) -> None:
    size = 1 << 20
    url = upload_url(stack, "/retried.bin", size)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        head = f"PUT {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {size}\r\n\r\n"
        sock.sendall(head.encode() + b"h" * (size // 2))
        wait_until(lambda: tmp_files(stack), what="the upload's temp file")
    wait_until(lambda: tmp_files(stack) == [], what="the temp file removed after the hang-up")
    assert http("PUT", url, b"r" * size).status == 201
    assert_used(stack, url, "/retried.bin", b"r" * size)
