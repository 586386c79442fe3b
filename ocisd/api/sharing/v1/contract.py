"""What a caller of `ocisd.sharing.v1` needs besides the messages: error kinds and bus events.

A failed call carries a status code for its error kind and the machine reason
in the `ocisd-reason` trailing metadata (`not-found`, `invalid`, `exists`,
`forbidden`, ...), as the storage API does. Share ids are decimal integers
(ownCloud clients parse them as such).

Bus events (`event.<name>`) the sharing service rings after each change; the
payload names the share and the users concerned:
{"id", "share_type" (0 user, 1 group, 3 link), "resource_id", "owner_id",
"creator_id", "grantee_id", "recipients": [user ids]}.
It listens for `resources-deleted` {"resource_ids": [...]} from storage and
removes the shares of those resources.
"""

from __future__ import annotations

import grpc
import grpc.aio

from ocisd.rpc.errors import Answering

REASON_METADATA = "ocisd-reason"

SHARE_CREATED = "share-created"
SHARE_UPDATED = "share-updated"
SHARE_REMOVED = "share-removed"
SHARE_ACCEPTED = "share-accepted"
RESOURCES_DELETED = "resources-deleted"

STATUS = {
    "not-found": grpc.StatusCode.NOT_FOUND,
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "exists": grpc.StatusCode.ALREADY_EXISTS,
    "forbidden": grpc.StatusCode.PERMISSION_DENIED,
}


class SharingError(Exception):
    """An error a Sharing method answers with: `kind` picks the status code, `reason` is the machine word."""

    def __init__(self, kind: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason


def not_found(message: str = "share not found") -> SharingError:
    return SharingError("not-found", "not-found", message)


def invalid(reason: str, message: str) -> SharingError:
    return SharingError("invalid", reason, message)


def exists(message: str) -> SharingError:
    return SharingError("exists", "exists", message)


def forbidden(reason: str, message: str) -> SharingError:
    return SharingError("forbidden", reason, message)


async def abort(context: grpc.aio.ServicerContext, exc: SharingError) -> None:
    await context.abort(STATUS[exc.kind], str(exc), trailing_metadata=((REASON_METADATA, exc.reason),))


handled = Answering(SharingError, abort)
