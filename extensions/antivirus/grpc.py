"""The Antivirus service: a thin adapter over the scanner, answered with the contract's errors."""

from __future__ import annotations

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd import authz
from ocisd.api.antivirus.v1 import antivirus_pb2, antivirus_pb2_grpc
from ocisd.api.storage.v1.contract import REASON_METADATA
from ocisd.logs import Logger

from .scanner import Refused, Scanner, Unavailable

UNREACHABLE = "clamd-unreachable"


class AntivirusService(antivirus_pb2_grpc.AntivirusServicer):
    def __init__(self, scanner: Scanner, handling: str, log: Logger, metrics: CollectorRegistry) -> None:
        self._scanner = scanner
        self._handling = handling
        self._log = log
        self._scans = Counter(
            "antivirus_scans",
            "Scans by result: clean, infected, error, unavailable, refused.",
            ["result"],
            registry=metrics,
        )

    async def Scan(
        self, request: antivirus_pb2.ScanRequest, context: grpc.aio.ServicerContext
    ) -> antivirus_pb2.ScanResponse:
        await authz.require_service(context)
        space, sep, node = request.resource_id.partition("!")
        if not (space and sep and node):
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "bad-id", f"bad-id: malformed {request.resource_id!r}"
            )
        try:
            outcome = await self._scanner.scan(request.resource_id, request.revision)
        except Unavailable as exc:
            self._scans.labels("unavailable").inc()
            self._log.warning("scan not possible now", resource=request.resource_id, error=str(exc))
            await _abort(context, grpc.StatusCode.UNAVAILABLE, UNREACHABLE, f"{UNREACHABLE}: {exc}")
        except Refused as exc:
            self._scans.labels("refused").inc()
            await _abort(context, exc.code, exc.reason, str(exc))
        verdict = outcome.verdict
        self._scans.labels(verdict.result).inc()
        self._log.info(
            "scanned",
            resource=request.resource_id,
            path=request.path,
            result=verdict.result,
            signature=verdict.signature,
            partial=outcome.partial,
        )
        return antivirus_pb2.ScanResponse(
            result=verdict.result,
            signature=verdict.signature,
            error=verdict.error,
            partial=outcome.partial,
            infected_handling=self._handling,
            scan_time=outcome.scan_time,
        )


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, reason: str, details: str) -> None:
    """As storage answers: details "reason: message" and the reason in `ocisd-reason`."""
    await context.abort(code, details, trailing_metadata=((REASON_METADATA, reason),))
