"""One revision's scan: fetch it through the gateway as the antivirus service, stream it to clamd.

The bytes go from the storage's data server to clamd piece by piece (never the
whole file in memory); after `max_scan_size` bytes the download is dropped and
the verdict marked partial, as oCIS does. Whatever keeps the scan from
happening (clamd, the data server, the gateway unreachable) is `Unavailable`:
postprocessing retries later and the revision stays `processing`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import grpc
import grpc.aio

from ocisd import authz, identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.storage.v1.contract import REASON_METADATA, data_origin
from ocisd.bus.registry import Registry
from ocisd.rpc.client import RpcClients

from .clamd import Clamd, ClamdUnavailable, Verdict

NAME = "antivirus"
# Storage's answers passed on to postprocessing as they are: the revision is superseded or gone.
PASSED_ON = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


class Unavailable(Exception):
    """The scan could not happen now (reason "clamd-unreachable"): retry later, never clean."""


class Refused(Exception):
    """Storage refused the download for good: `code` and `reason` travel back unchanged."""

    def __init__(self, code: grpc.StatusCode, reason: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    partial: bool
    scan_time: int


class Scanner:
    def __init__(
        self, rpc: RpcClients, registry: Registry, http: aiohttp.ClientSession, clamd: Clamd, secret: str, limit: int
    ) -> None:
        self._storage = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._registry = registry
        self._http = http
        self._clamd = clamd
        self._token = identity.ServiceToken(secret, NAME)
        self._who = identity.service_identity(NAME)
        self._limit = limit  # 0 = no limit

    async def scan(self, resource_id: str, revision: str) -> Outcome:
        url = await self._download_url(resource_id, revision)
        partial = False

        async def pieces() -> AsyncIterator[bytes]:
            nonlocal partial
            sent = 0
            try:
                async with self._http.get(url) as resp:
                    if resp.status != 200:
                        raise Unavailable(f"data server answered {resp.status} for the revision")
                    async for piece in resp.content.iter_any():
                        if self._limit and sent + len(piece) >= self._limit:
                            yield piece[: self._limit - sent]
                            partial = sent + len(piece) > self._limit or bool(await resp.content.read(1))
                            return  # the rest is never read: the connection is dropped
                        sent += len(piece)
                        yield piece
            except (aiohttp.ClientError, OSError) as exc:
                raise Unavailable(f"data server unreachable: {exc}") from None

        try:
            verdict = await self._clamd.instream(pieces())
        except ClamdUnavailable as exc:
            raise Unavailable(str(exc)) from None
        return Outcome(verdict, partial, int(time.time()))

    async def _download_url(self, resource_id: str, revision: str) -> str:
        request = pb.InitiateFileDownloadRequest(ref=pb.Reference(node_id=resource_id), revision=revision)
        try:
            with authz.acting_as(self._token.get(), self._who):
                answer = await self._storage.InitiateFileDownload(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in PASSED_ON:
                reason = next((str(v) for k, v in exc.trailing_metadata() or () if k == REASON_METADATA), "")
                raise Refused(exc.code(), reason, exc.details() or "") from None
            raise Unavailable(f"download refused: {exc.code().name} {exc.details() or ''}".rstrip()) from None
        url: str = answer.download_url
        if await data_origin(self._registry, url) is None:
            # A forged answer must not aim us at another port of this host: retry later.
            raise Unavailable("the download URL lies outside every announced data address")
        return url
