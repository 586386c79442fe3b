"""What a caller of the identity API (Users, Groups) needs beside the generated messages.

The error kinds the services answer with, each with its gRPC status code and
the `ocisd-reason` trailing metadata naming it (a servicer method answers them
through `handled`), the rules for user and group names: which are valid,
and the key that makes them case-insensitive, and which e-mail addresses are valid.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import ClassVar

import grpc
import grpc.aio

from ocisd.rpc.errors import Answering

REASON_METADATA = "ocisd-reason"
MAX_NAME = 255
# local@domain.tld: no white space, one @, a domain of two or more non-empty labels.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class Kind(enum.Enum):
    """An error kind; its value is the `ocisd-reason` an answer carries."""

    NOT_FOUND = "not-found"
    INVALID = "invalid"
    EXISTS = "exists"
    FORBIDDEN = "forbidden"


STATUS = {
    Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Kind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    Kind.EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Kind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
}


class IdentityError(Exception):
    """An error a Users or Groups method answers with; its message never holds a secret."""

    kind: ClassVar[Kind]

    def details(self) -> str:
        """The status details a caller sees."""
        return str(self)


class NotFound(IdentityError, LookupError):
    kind = Kind.NOT_FOUND


class InvalidValue(IdentityError, ValueError):
    kind = Kind.INVALID


class InvalidName(InvalidValue):
    """A name that is empty, too long, or contains `/` or a control character."""


class NameTaken(IdentityError):
    """The name (compared case-insensitively) or the id already exists."""

    kind = Kind.EXISTS

    def details(self) -> str:
        return f"already exists: {self}"


class Forbidden(IdentityError, PermissionError):
    kind = Kind.FORBIDDEN


async def abort(context: grpc.aio.ServicerContext, exc: IdentityError) -> None:
    """End the call with the error's status code, its details and its kind as the reason."""
    await context.abort(STATUS[exc.kind], exc.details(), trailing_metadata=((REASON_METADATA, exc.kind.value),))


# Answer the identity errors a servicer method raises with their status code and reason.
handled = Answering(IdentityError, abort)


def validate(name: str, what: str = "username") -> str:
    """`name` when it is a valid user or group name (`what` names it in the error); InvalidName otherwise."""
    if not name or len(name) > MAX_NAME:
        raise InvalidName(f"{what} must be 1 to {MAX_NAME} characters")
    if name != name.strip():
        raise InvalidName(f"{what} must not start or end with white space")
    for ch in name:
        if ch == "/" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise InvalidName(f"{what} must not contain '/' or control characters")
    return name


def key(name: str) -> str:
    """The case-insensitive identity of a name (Unicode case folding, not only ASCII)."""
    return unicodedata.normalize("NFC", name).casefold()


def valid_email(address: str) -> bool:
    """Whether `address` may be stored as a user's e-mail; empty means none and is valid."""
    return not address or EMAIL.fullmatch(address) is not None
