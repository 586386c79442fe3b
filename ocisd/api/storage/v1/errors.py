"""What can go wrong in storage, as one exception with a machine reason.

`contract` maps `kind` to a gRPC status code, the data server to an HTTP status;
`reason` travels to the caller in `ocisd-reason` (see the storage proto's header comment).
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    NOT_FOUND = "not_found"
    EXISTS = "exists"
    PRECONDITION = "precondition"
    FORBIDDEN = "forbidden"
    QUOTA = "quota"
    LOCKED = "locked"
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"  # the metadata database cannot be reached: try again later


class StorageError(Exception):
    def __init__(self, kind: Kind, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message or reason}")
        self.kind = kind
        self.reason = reason
        self.message = message or reason


def not_found(what: str = "") -> StorageError:
    return StorageError(Kind.NOT_FOUND, "not-found", what or "no such resource")


def exists(what: str = "") -> StorageError:
    return StorageError(Kind.EXISTS, "exists", what or "resource exists")


def precondition(reason: str, message: str = "") -> StorageError:
    return StorageError(Kind.PRECONDITION, reason, message)


def forbidden(message: str = "") -> StorageError:
    return StorageError(Kind.FORBIDDEN, "forbidden", message or "not allowed")


def invalid(reason: str, message: str = "") -> StorageError:
    return StorageError(Kind.INVALID, reason, message)


def quota(message: str = "") -> StorageError:
    return StorageError(Kind.QUOTA, "quota", message or "quota exceeded")


def unavailable(message: str = "") -> StorageError:
    return StorageError(Kind.UNAVAILABLE, "unavailable", message or "storage metadata unavailable")


def locked(message: str = "") -> StorageError:
    return StorageError(Kind.LOCKED, "locked", message or "resource is locked")
