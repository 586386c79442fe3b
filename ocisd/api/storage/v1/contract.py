"""What a caller of `ocisd.storage.v1` needs besides the messages: ids, permission strings, errors.

Resource ids are `<space>!<node>`, upload-session ids `<space>!<name>` (a bare
name means the caller's home). A user's personal space id is derived from the
user id, and its shard (first sha1 byte) says which storage-users instance holds
it. A failed call carries a status code for its error kind (`errors.Kind`) and
the machine reason in the `ocisd-reason` trailing metadata. A servicer learns
who calls from `caller()` (the internal token verified by the interceptor
`Context.serve_grpc` installs, `ocisd.authz`).
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid

import grpc
import grpc.aio

from ocisd import identity
from ocisd.api.sharing.v1.permissions import ALL, EDITOR, VIEWER
from ocisd.bus.registry import Registry
from ocisd.rpc.errors import Answering

from . import errors

ID_SEPARATOR = "!"
FILE_PERMISSIONS = "RDNVW"
FOLDER_PERMISSIONS = "RDNVCK"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SESSION_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def home_space_id(user_id: str) -> str:
    """The personal space id of a user: the user id itself when it is a safe token."""
    if _SAFE_ID.fullmatch(user_id):
        return user_id
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ocisd:user:{user_id}").hex


# Space types (Space.type, graph's driveType); the virtual one is graph's view of a user's
# accepted shares: WebDAV serves `/remote.php/dav/spaces/<SHARES_SPACE_ID>/...` as the
# caller's `/Shares/...` (the id oCIS gives its shares jail).
PERSONAL = "personal"
PROJECT = "project"
VIRTUAL = "virtual"
SHARES_SPACE_ID = "a0ca6a90-a365-4782-871e-d44447bbc668"

# Space member roles → the grant bits on the space root (graph's invite and permissions).
SPACE_ROLES = {"viewer": VIEWER, "editor": EDITOR, "manager": ALL}


def space_role(bits: int) -> str:
    """The role a member's grant on a space root amounts to ("" when it is none of them)."""
    return next((role for role, role_bits in SPACE_ROLES.items() if role_bits == bits), "")


def new_space_id() -> str:
    """A fresh project space id (its shard spreads project spaces over the providers)."""
    return uuid.uuid4().hex


def shard(space_id: str) -> str:
    """Two hex digits deciding which storage-users instance holds a personal space."""
    return hashlib.sha1(space_id.encode()).hexdigest()[:2]


def external_id(space: str, node: str) -> str:
    return f"{space}{ID_SEPARATOR}{node}"


def split_id(ext_id: str) -> tuple[str, str]:
    space, sep, node = ext_id.partition(ID_SEPARATOR)
    if not sep or not space or not node:
        raise errors.invalid("bad-id", f"malformed resource id {ext_id!r}")
    return space, node


def check_session_name(name: str) -> str:
    if not _SESSION_NAME.fullmatch(name):
        raise errors.invalid("bad-session-id", f"invalid upload session name {name!r}")
    return name


def split_session_id(session_id: str) -> tuple[str, str]:
    """ "<space>!<name>" → (space, name); a bare name → ("", name) (the caller's home)."""
    space, sep, name = session_id.rpartition(ID_SEPARATOR)
    if sep and not space:
        raise errors.invalid("bad-session-id", f"invalid upload session id {session_id!r}")
    return space, check_session_name(name)


REASON_METADATA = "ocisd-reason"

STATUS = {
    errors.Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    errors.Kind.EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    errors.Kind.PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Kind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    errors.Kind.QUOTA: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Kind.LOCKED: grpc.StatusCode.ABORTED,
    errors.Kind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Kind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    errors.Kind.UNSUPPORTED: grpc.StatusCode.UNIMPLEMENTED,
    errors.Kind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}


def caller() -> identity.Identity:
    """Who calls this servicer (gateway or provider); UNAUTHENTICATED without a verified token."""
    who = identity.CURRENT.get()
    if who is None:
        raise errors.StorageError(errors.Kind.UNAUTHENTICATED, "token", "no verified internal token")
    return who


async def abort(context: grpc.aio.ServicerContext, exc: errors.StorageError) -> None:
    """End the call with the error's status, `reason: message` as details and the reason as metadata."""
    await context.abort(
        STATUS[exc.kind], f"{exc.reason}: {exc.message}", trailing_metadata=((REASON_METADATA, exc.reason),)
    )


# Turn a `StorageError` raised by a servicer method into its gRPC status.
handled = Answering(errors.StorageError, abort)


async def data_origin(registry: Registry, url: str) -> str | None:
    """The data address a ready storage instance announced that `url` (a signed `/data/` URL from a
    provider's answer) lies under, or None: nothing fetches a URL an answer names elsewhere. An
    instance that started a moment ago may answer before it is heard: it gets two heartbeats."""
    until = time.monotonic() + 2 * registry.heartbeat_interval
    while True:
        changed = registry.changed  # taken before looking: no change is missed
        for entry in registry.entries():
            base = entry.record.addresses.get("data", "")
            if base and entry.record.health == "ready" and url.startswith(f"{base}/data/"):
                return base
        if time.monotonic() >= until:
            return None
        await registry.change_or_pause(changed, until, registry.heartbeat_interval)
