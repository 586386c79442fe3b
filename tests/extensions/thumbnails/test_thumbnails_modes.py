"""thumbnails with postprocessing holding revisions, and in the two deployment modes: inside
`ocis server` (the gateway called in-process) and as its own program under supervisord."""

from __future__ import annotations

from typing import cast

import grpc
from PIL import Image

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from tests.core.test_supervisor import Sup
from tests.support import sets
from tests.support.harness import Deployment, Proc, metric_value, wait_until
from tests.support.storage_stack import Stack, http, running_stack

from .client import Thumbs, encoded, noise, opened, picture

STACK = sets.join(sets.THUMBNAILS)


class Worker:
    """What postprocessing does: claim jobs at storage-users (a service token) and complete them."""

    def __init__(self, stack: Stack) -> None:
        token = identity.mint(stack.secret, identity.service_identity("postprocessing"), ttl=600)
        self._meta = [(identity.GRPC_METADATA, token)]
        self._channel = grpc.insecure_channel(stack.dep.addr("storage-users", "grpc_addr"))
        self._stub = pb_grpc.ProcessingStub(self._channel)
        claimed = self._stub.Claim(pb.ClaimJobsRequest(worker="test", limit=10, lease_seconds=60), metadata=self._meta)
        self.jobs = {j.path: j for j in claimed.jobs}

    def complete(self, path: str, outcome: int, **details: object) -> None:
        request = pb.CompleteJobRequest(job_id=self.jobs[path].id, worker="test", outcome=outcome, **details)  # type: ignore[arg-type]
        assert self._stub.Complete(request, metadata=self._meta, timeout=30).applied

    def close(self) -> None:
        self._channel.close()


def test_only_ready_revisions_get_previews() -> None:
    with running_stack(storage_env={"POSTPROCESSING_STEPS": "delay"}) as stack:
        stack.dep.start_extension("thumbnails")
        thumbs = Thumbs(stack)
        stack.upload("/held.png", picture("PNG", (40, 40)))
        stack.upload("/bad.png", picture("PNG", (40, 40)))
        downloads = thumbs.downloads()
        assert thumbs.refused("/held.png") == (grpc.StatusCode.FAILED_PRECONDITION, "processing")
        worker = Worker(stack)
        worker.complete("/held.png", pb.JOB_OUTCOME_READY, scan_status="clean")
        assert opened(thumbs.get("/held.png", 32, 32)).size == (32, 32)
        # Infected but kept downloadable (handling `continue`): still never a thumbnail.
        worker.complete("/bad.png", pb.JOB_OUTCOME_INFECTED, scan_status="infected Eicar", downloadable=True)
        assert thumbs.refused("/bad.png") == (grpc.StatusCode.FAILED_PRECONDITION, "blocked")
        assert thumbs.downloads() == downloads + 1
        thumbs.channel.close()
        worker.close()


def test_cache_keeps_within_its_byte_cap() -> None:
    with running_stack() as stack:
        stack.dep.start_extension("thumbnails", env={"THUMBNAILS_CACHE_SIZE": "120KB"})
        thumbs = Thumbs(stack)
        sizes = []
        for name in ("a", "b", "c"):  # 128x128 PNGs of noise, ~49 KB each: two fit
            stack.upload(f"/{name}.png", encoded(Image.effect_noise((128, 128), 90).convert("RGB"), "PNG"))
            sizes.append(len(thumbs.get(f"/{name}.png", 128, 128).thumbnail))
        assert sum(sizes[1:]) <= 120_000 < sum(sizes)
        held = metric_value(stack.dep.metrics("thumbnails"), "thumbnails_cache_bytes")
        assert held == sum(sizes[1:])
        downloads = thumbs.downloads()
        thumbs.get("/c.png", 128, 128)
        assert thumbs.downloads() == downloads  # the newest stayed
        thumbs.get("/a.png", 128, 128)
        assert thumbs.downloads() == downloads + 1  # the oldest went
        thumbs.channel.close()


def test_data_urls_expire() -> None:
    with running_stack() as stack:
        stack.dep.start_extension("thumbnails", env={"THUMBNAILS_DATA_URL_EXPIRY": "1s"})
        thumbs = Thumbs(stack)
        stack.upload("/big.jpg", noise((2500, 1500)))
        reply = thumbs.get("/big.jpg", 1920, 1080)
        assert reply.data_url and not reply.thumbnail
        wait_until(lambda: http("GET", reply.data_url).status == 404, 30, what="the data URL to expire")
        thumbs.channel.close()


def test_bad_settings_are_refused_before_start(dep: Deployment) -> None:
    for env in ({"THUMBNAILS_RESOLUTIONS": "128x128,huge"}, {"THUMBNAILS_MAX_CONCURRENT_REQUESTS": "0"}):
        res = dep.ocis("thumbnails", "server", env=env)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr


def previews(dep: Deployment, proc: Proc | None) -> None:
    # Under supervisord no Proc of ours holds storage-users or the gateway; Stack only needs the deployment.
    stack = Stack(dep, cast(Proc, proc), cast(Proc, proc))
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 30, what="gateway routes to storage-users")
    thumbs = Thumbs(stack)
    stack.upload("/p.jpg", picture("JPEG", (200, 100)))
    wait_until(lambda: thumbs.get("/p.jpg", 64, 64), 30, what="thumbnails answers")
    assert opened(thumbs.get("/p.jpg", 64, 64)).size == (64, 32)
    thumbs.channel.close()
    stack.close()


def test_inside_ocis_server(dep: Deployment) -> None:
    previews(dep, dep.start_runtime(STACK))


def test_under_supervisord(dep: Deployment) -> None:
    with Sup(dep) as sup:
        sup.generate(STACK)
        sup.run("start")
        assert len({sup.pids()[f"ocis-{n}"] for n in STACK.split(",")}) == 4  # each its own process
        previews(dep, None)
