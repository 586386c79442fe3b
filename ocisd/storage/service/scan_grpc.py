"""Manual virus scans in the Storage service (mixed into `grpc.StorageService`): the caller's own.

CreateScan needs READ on the file or folder and answers at once; the files' results
arrive as postprocessing completes their scan jobs. A scan is visible to its creator
and to services only (others get NOT_FOUND, as if it did not exist).
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.permissions import READ
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import caller, external_id, handled, split_id
from ocisd.storage.driver import Base
from ocisd.storage.resources import Scan

from .access import Access

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class Servicer(Protocol):
    _driver: Base

    async def _ref(self, ref: pb.Reference, need: int = ...) -> Access: ...


def report(scan: Scan) -> pb.ScanReport:
    done = [f for f in scan.files if f.status != "pending"]
    return pb.ScanReport(
        id=external_id(scan.space, scan.id),
        path=scan.path,
        created=scan.created,
        total=len(scan.files),
        done=len(done),
        infected=sum(f.status.startswith("infected") for f in done),
        errors=sum(f.status.startswith("error") for f in done),
        results=[
            pb.ScanFileResult(
                resource_id=external_id(scan.space, f.node), path=f.path, scan_status=f.status, scan_time=f.time
            )
            for f in scan.files
        ],
        creator_id=scan.creator,
    )


class ScanMethods:
    @handled
    async def CreateScan(self: Servicer, request: pb.CreateScanRequest, context: Ctx) -> pb.ScanReport:
        a = await self._ref(request.ref, READ)
        return report(await self._driver.create_scan(a.ref, a.who.user_id, uuid.uuid4().hex))

    @handled
    async def GetScan(self: Servicer, request: pb.GetScanRequest, context: Ctx) -> pb.ScanReport:
        space, scan_id = split_id(request.scan_id)
        if request.ref.space_id != space:
            raise errors.invalid("bad-space", "ref.space_id must be the space part of the scan id")
        who = caller()
        scan = await self._driver.get_scan(space, scan_id)
        if scan is None or (scan.creator != who.user_id and not who.service):
            raise errors.not_found("no such scan")
        return report(scan)
