"""A postprocessing worker for tests: calls one storage-users instance's Processing service with a
service token, as postprocessing does (the real API, no mock)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import grpc

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from tests.support.harness import Deployment


def service_token(dep: Deployment, name: str = "postprocessing") -> str:
    secret = tomllib.loads((dep.config_dir / "ocis.toml").read_text())["jwt_secret"]
    return identity.mint(secret, identity.service_identity(name), ttl=600)


@dataclass
class Worker:
    """A postprocessing worker talking to one storage-users instance's Processing service."""

    dep: Deployment
    name: str = "worker-1"

    def call(self, method: str, request: Any, token: str | None = None, service: str = "Processing") -> Any:
        """`method` of storage-users' `service` (Processing, or Storage itself) with a service token."""
        token = token or service_token(self.dep)
        with grpc.insecure_channel(self.dep.addr("storage-users", "grpc_addr")) as channel:
            stub = getattr(pb_grpc, f"{service}Stub")(channel)
            return getattr(stub, method)(request, metadata=[(identity.GRPC_METADATA, token)], timeout=30)

    def claim(self, limit: int = 10, lease: int = 30) -> list[pb.Job]:
        return list(self.call("Claim", pb.ClaimJobsRequest(worker=self.name, limit=limit, lease_seconds=lease)).jobs)

    def complete(self, job: pb.Job, outcome: int, **details: Any) -> pb.CompleteJobResponse:
        reply: pb.CompleteJobResponse = self.call(
            "Complete", pb.CompleteJobRequest(job_id=job.id, worker=self.name, outcome=outcome, **details)
        )
        return reply
