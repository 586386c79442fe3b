"""Antivirus.Scan against a real clamd: bytes fetched through the gateway, streamed with INSTREAM."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from ocisd import identity
from ocisd.api.antivirus.v1 import antivirus_pb2 as av
from ocisd.api.antivirus.v1 import antivirus_pb2_grpc as av_grpc
from ocisd.api.storage.v1 import storage_pb2 as pb
from tests.support.clamd import EICAR, SIGNATURE, Clamd, running_clamd
from tests.support.harness import Proc, free_port
from tests.support.storage_stack import Stack, reason, ref, running_stack

pytestmark = pytest.mark.tools("clamd")
POSTPROCESSING = identity.service_identity("postprocessing")


class Antivirus:
    def __init__(self, stack: Stack, proc: Proc, addr: str = "") -> None:
        self.stack = stack
        self.proc = proc
        self._channel = grpc.insecure_channel(addr or stack.dep.addr("antivirus", "grpc_addr"))
        self.stub = av_grpc.AntivirusStub(self._channel)

    def scan(self, path: str, who: identity.Identity = POSTPROCESSING) -> av.ScanResponse:
        info = self.stack.stat(path)
        request = av.ScanRequest(resource_id=info.id, size=info.size, path=path)
        return self.stub.Scan(request, metadata=[(identity.GRPC_METADATA, self.stack.token(who))], timeout=60)

    def close(self) -> None:
        self._channel.close()


def start_antivirus(stack: Stack, clamd: Clamd, **env: str) -> Antivirus:
    env = {"ANTIVIRUS_CLAMAV_SOCKET": clamd.address, **env}
    return Antivirus(stack, stack.dep.start_extension("antivirus", env=env))


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    with running_clamd(tcp=True, stream_max_length="64K") as c:
        yield c


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


@pytest.fixture(scope="module")
def antivirus(stack: Stack, clamd: Clamd) -> Iterator[Antivirus]:
    a = start_antivirus(stack, clamd)
    yield a
    a.close()


def test_eicar_is_infected_and_a_clean_file_clean(stack: Stack, antivirus: Antivirus) -> None:
    assert stack.upload("/eicar.com", EICAR).status in (200, 201, 204)
    assert stack.upload("/clean.txt", b"nothing to see here\n" * 100).status in (200, 201, 204)
    infected = antivirus.scan("/eicar.com")
    assert (infected.result, infected.signature, infected.partial) == ("infected", SIGNATURE, False)
    assert infected.infected_handling == "delete" and infected.scan_time > 0
    clean = antivirus.scan("/clean.txt")
    assert (clean.result, clean.signature, clean.partial) == ("clean", "", False)


def test_clamd_error_is_an_error_not_clean(stack: Stack, antivirus: Antivirus) -> None:
    # clamd's StreamMaxLength (64K here) below ours: clamd stops reading and answers ERROR.
    assert stack.upload("/big.bin", b"\0" * 200_000).status in (200, 201, 204)
    answer = antivirus.scan("/big.bin")
    assert answer.result == "error" and "size limit" in answer.error


def test_only_services_may_scan_and_storage_refusals_pass_through(stack: Stack, antivirus: Antivirus) -> None:
    assert stack.upload("/mine.txt", b"x").status in (200, 201, 204)
    with pytest.raises(grpc.RpcError) as user:
        antivirus.scan("/mine.txt", who=identity.Identity(user_id="alice-id", username="alice"))
    assert user.value.code() == grpc.StatusCode.UNAUTHENTICATED
    gone = stack.stat("/mine.txt").id
    stack.call("Delete", pb.DeleteRequest(ref=ref("/mine.txt")))
    token = [(identity.GRPC_METADATA, stack.token(POSTPROCESSING))]
    with pytest.raises(grpc.RpcError) as missing:
        antivirus.stub.Scan(av.ScanRequest(resource_id=gone), metadata=token, timeout=30)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and reason(missing.value) == "not-found"
    with pytest.raises(grpc.RpcError) as bad:
        antivirus.stub.Scan(av.ScanRequest(resource_id="no-separator"), metadata=token, timeout=30)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_clamd_down_is_unavailable_never_clean(stack: Stack, clamd: Clamd, antivirus: Antivirus) -> None:
    assert stack.upload("/later.txt", b"scan me later").status in (200, 201, 204)
    clamd.stop()
    try:
        with pytest.raises(grpc.RpcError) as down:
            antivirus.scan("/later.txt")
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE and reason(down.value) == "clamd-unreachable"
    finally:
        clamd.start()
    assert antivirus.scan("/later.txt").result == "clean"


def test_tcp_clamd_max_scan_size_and_handling(stack: Stack, clamd: Clamd) -> None:
    # A second instance with its own addresses: clamd over TCP, 68 bytes scanned at most, abort.
    addrs = {f"ANTIVIRUS_{k}_ADDR": f"127.0.0.1:{free_port()}" for k in ("GRPC", "HTTP", "DEBUG")}
    env = {**addrs, "ANTIVIRUS_CLAMAV_SOCKET": clamd.tcp_address}
    env |= {"ANTIVIRUS_MAX_SCAN_SIZE": str(len(EICAR)), "ANTIVIRUS_INFECTED_FILE_HANDLING": "abort"}
    second = Antivirus(stack, stack.dep.start_extension("antivirus", env=env), addrs["ANTIVIRUS_GRPC_ADDR"])
    try:
        for path, body in (("/exact.com", EICAR), ("/longer.com", EICAR + b"\n"), ("/text.txt", b"a" * 1000)):
            assert stack.upload(path, body).status in (200, 201, 204)
        exact, longer, text = (second.scan(p) for p in ("/exact.com", "/longer.com", "/text.txt"))
        assert (exact.result, exact.partial, exact.infected_handling) == ("infected", False, "abort")
        # Exactly the first 68 bytes reached clamd: the whole-file signature of EICAR matched them.
        assert (longer.result, longer.signature, longer.partial) == ("infected", SIGNATURE, True)
        assert (text.result, text.partial) == ("clean", True)
    finally:
        second.close()
        second.proc.stop()


def test_bad_settings_stop_the_start(stack: Stack) -> None:
    for key, value in (("ANTIVIRUS_INFECTED_FILE_HANDLING", "quarantine"), ("ANTIVIRUS_CLAMAV_SOCKET", "clamd.ctl")):
        res = stack.dep.ocis("antivirus", "server", env={key: value}, timeout=30)
        assert res.returncode == 2 and key.removeprefix("ANTIVIRUS_").lower() in res.stderr
