"""Antivirus.Scan against a real clamd: bytes fetched through the gateway, streamed with INSTREAM."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from ocisd import identity
from ocisd.api.antivirus.v1 import antivirus_pb2 as av
from ocisd.api.antivirus.v1 import antivirus_pb2_grpc as av_grpc
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
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
        """Scan the revision storage holds for `path`'s job, as postprocessing would."""
        job = queued_job(self.stack, self.stack.stat(path).id)
        request = av.ScanRequest(resource_id=job.resource_id, revision=job.revision, size=job.size, path=path)
        return self.stub.Scan(request, metadata=[(identity.GRPC_METADATA, self.stack.token(who))], timeout=60)

    def close(self) -> None:
        self._channel.close()


def queued_job(stack: Stack, resource_id: str) -> pb.Job:
    """The job storage-users queued for the file's current revision (no postprocessing runs here)."""
    with grpc.insecure_channel(stack.dep.addr("storage-users", "grpc_addr")) as channel:
        reply = pb_grpc.ProcessingStub(channel).ListJobs(
            pb.ListJobsRequest(), metadata=[(identity.GRPC_METADATA, stack.token(POSTPROCESSING))], timeout=30
        )
    jobs = [j for j in reply.jobs if j.resource_id == resource_id]
    assert len(jobs) == 1, jobs
    return jobs[0]


def start_antivirus(stack: Stack, clamd: Clamd, **env: str) -> Antivirus:
    env = {"ANTIVIRUS_CLAMAV_SOCKET": clamd.address, **env}
    return Antivirus(stack, stack.dep.start_extension("antivirus", env=env))


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    with running_clamd(tcp=True, stream_max_length="64K") as c:
        yield c


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack({"POSTPROCESSING_STEPS": "virusscan"}) as s:
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
    job = queued_job(stack, stack.stat("/mine.txt").id)
    token = [(identity.GRPC_METADATA, stack.token(POSTPROCESSING))]
    assert stack.upload("/mine.txt", b"newer").status in (200, 201, 204)
    with pytest.raises(grpc.RpcError) as stale:
        antivirus.stub.Scan(av.ScanRequest(resource_id=job.resource_id, revision=job.revision), metadata=token)
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(stale.value) == "etag-mismatch"
    stack.call("Delete", pb.DeleteRequest(ref=ref("/mine.txt")))
    with pytest.raises(grpc.RpcError) as missing:
        antivirus.stub.Scan(av.ScanRequest(resource_id=job.resource_id, revision=job.revision), metadata=token)
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
