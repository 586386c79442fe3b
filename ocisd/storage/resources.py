"""The plain data a storage driver speaks: references, nodes, locks, spaces, trash items, upload options."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocisd.api.postprocessing.v1.contract import READY
from ocisd.api.storage.v1 import errors

FILE = 1
FOLDER = 2
FOLDER_MIME = "httpd/unix-directory"
MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class Ref:
    """`space` + absolute `path`, or `node` (a bare node id) with `path` relative to it."""

    space: str = ""
    path: str = ""
    node: str = ""


@dataclass(slots=True)
class LockInfo:
    token: str
    exclusive: bool
    depth_infinity: bool
    owner: str
    timeout: int  # seconds as granted; 0 = infinite
    expires: int  # unix seconds; 0 = never
    node: str
    path: str
    user: str


@dataclass(slots=True)
class Node:
    id: str
    space: str
    parent: str | None
    name: str
    type: int
    size: int
    mtime: int  # ns
    etag: str
    rev: str = ""
    sha1: str = ""
    md5: str = ""
    adler32: str = ""
    mime: str = ""
    props: dict[str, str] = field(default_factory=dict)
    path: str = ""
    locks: list[LockInfo] = field(default_factory=list)
    # Postprocessing of the current revision (ocisd.api.postprocessing.v1.contract): its state, whether
    # it may be downloaded, and the latest virus scan's result, time (unix seconds) and partialness.
    status: str = READY
    downloadable: bool = True
    scan_status: str = ""
    scan_time: int = 0
    scan_partial: bool = False

    @property
    def is_folder(self) -> bool:
        return self.type == FOLDER


@dataclass(frozen=True)
class Space:
    id: str
    owner: str
    quota: int  # bytes as the space keeps it; 0 = unlimited, -1 = none of its own (the configured one applies)
    type: str = "personal"  # contract.PERSONAL | PROJECT (a project space has no owner: "")
    name: str = ""
    description: str = ""
    alias: str = ""
    disabled: bool = False


@dataclass
class SpaceState:
    """A space with what a listing shows of it: its root, quota (bytes, 0 = unlimited) and use, the grants on
    its root (a project space's members)."""

    space: Space
    root: Node
    total: int
    used: int
    members: list[Grant]


@dataclass
class TrashItem:
    """A deleted subtree in its space's trash bin: `node` with its original name and path (`node.id` is the
    item's key), when it was deleted (unix seconds) and by whom (a user id)."""

    node: Node
    deleted: float
    deleted_by: str


@dataclass(frozen=True)
class Version:
    """A kept revision of a file: `key` names it among the file's versions; `created` (ns) is when it
    was superseded; `blob` is where a driver keeps its bytes (the driver's own name)."""

    key: str
    size: int
    mtime: int  # ns
    etag: str
    sha1: str
    md5: str
    adler32: str
    created: int
    edited_by: str
    blob: str = ""


@dataclass(frozen=True)
class Grant:
    """ownCloud permission bits on a node (and below it) for a user or a group other than the owner."""

    grantee_type: str  # "user" | "group"
    grantee: str  # a user id or a group id
    bits: int
    expires: int  # unix seconds; 0 = never
    creator: str  # user id of who added it
    node: str = ""  # the node carrying it (filled when read back)


@dataclass
class Reach:
    """The way from a reference's base node to its target, for checking a caller other than the owner:
    `chain` lists node ids from the deepest existing node on the way (the target, or a folder above it)
    up to the space root, `grants` the grants on them, `target` the target if it exists."""

    chain: list[str]
    grants: list[Grant]
    target: Node | None


@dataclass(frozen=True)
class UploadOptions:
    size: int = -1
    checksum: str = ""  # "SHA1:<hex>" etc.
    if_match: str = ""
    if_none_match: bool = False
    mtime: int = 0  # ns; 0 = now
    lock_tokens: tuple[str, ...] = ()
    user: str = ""  # who uploads (a held revision's job names them)


@dataclass
class Job:
    """A postprocessing job of a provider's queue: `kind` "upload" (a new revision) or "scan" (a manual
    scan), for the revision `rev` of node `node`; `space`, `path`, `size`, `mime` are filled when read."""

    id: int
    kind: str
    node: str
    rev: str
    state: str  # "queued" | "leased" | "failed"
    attempts: int
    last_error: str
    created: float  # unix seconds
    not_before: float
    worker: str
    lease_until: float
    uploader: str  # who stored the revision or started the scan
    scan_id: str
    space: str = ""
    path: str = ""
    size: int = 0
    mime: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a job's steps came to (storage.v1 JobOutcome and its details)."""

    kind: str  # "ready" | "infected" | "remove" | "retry" | "failed"
    scan_status: str = ""  # "" = unchanged
    scan_partial: bool = False
    downloadable: bool = False  # "infected" with handling `continue`
    error: str = ""
    retry_after: float = 0.0
    count_attempt: bool = False
    max_attempts: int = 0


@dataclass(frozen=True)
class Completion:
    """What a job's outcome did: whether it applied, the job's state now ("done" | "queued" | "failed"),
    the file now (None when it went away) and who should be told."""

    applied: bool
    state: str
    node: Node | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanFile:
    node: str
    path: str
    status: str
    time: int


@dataclass
class Scan:
    """A manual scan: what was asked for, by whom, when, and each file's latest result."""

    id: str  # the uuid part (the service adds "<space>!")
    space: str
    path: str
    creator: str
    created: int
    files: list[ScanFile] = field(default_factory=list)


@dataclass(frozen=True)
class Staged:
    """An upload's bytes, durable in the blob store but not yet part of the tree."""

    rev: str
    size: int
    sha1: str
    md5: str
    adler32: str


def check_name(name: str) -> str:
    if name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise errors.invalid("bad-name", f"invalid name {name!r}")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise errors.invalid("bad-name", f"name longer than {MAX_NAME_BYTES} bytes")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.invalid("bad-name", "name is not valid UTF-8") from None
    return name


def split_path(path: str) -> list[str]:
    """ "/a/b" → ["a", "b"]; "" and "/" → []. Empty segments (a//b, trailing /) are dropped."""
    return [check_name(seg) for seg in path.split("/") if seg != ""]


def join_path(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def parent_of(path: str) -> tuple[str, str]:
    """ "/a/b" → ("/a", "b")."""
    segs = split_path(path)
    if not segs:
        raise errors.forbidden("the space root has no parent")
    return "/" + "/".join(segs[:-1]), segs[-1]
