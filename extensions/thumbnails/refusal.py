"""A refused GetThumbnail: status, `ocisd-reason` and message, as the storage API answers them."""

from __future__ import annotations

import grpc
import grpc.aio

from ocisd.api.storage.v1.contract import REASON_METADATA
from ocisd.rpc.errors import Answering


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message

    @classmethod
    def passed_on(cls, exc: grpc.aio.AioRpcError) -> Refused:
        """The gateway's error, unchanged, as ours (NOT_FOUND not-found, FAILED_PRECONDITION processing, ...)."""
        reason = dict(exc.trailing_metadata() or ()).get(REASON_METADATA)
        details = exc.details() or ""
        if not isinstance(reason, str) or not reason:
            reason = details.split(":", 1)[0].strip()
        return cls(exc.code(), reason, details.split(":", 1)[-1].strip() or reason)


async def _abort(context: grpc.aio.ServicerContext, exc: Refused) -> None:
    await context.abort(exc.code, f"{exc.reason}: {exc.message}", trailing_metadata=((REASON_METADATA, exc.reason),))


handled = Answering(Refused, _abort)
