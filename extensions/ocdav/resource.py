"""A resource as the WebDAV layer sees it: plain data, made from the storage API's ResourceInfo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.thumbnails.v1.contract import has_preview


@dataclass(frozen=True)
class ActiveLock:
    token: str
    scope: str  # "exclusive" | "shared"
    depth: str  # "0" | "infinity"
    owner: str  # the client's <D:owner> inner XML, verbatim
    timeout: int | None  # seconds left; None = infinite
    root_path: str  # path of the locked resource in the space


@dataclass(slots=True)
class Resource:
    path: str  # "/" or "/a/b"
    is_dir: bool
    size: int = 0
    mtime: float = 0.0
    etag: str = ""  # unquoted
    id: str = ""
    content_type: str = "application/octet-stream"
    checksums: dict[str, str] = field(default_factory=dict)  # "SHA1" -> hex, "MD5", "ADLER32"
    permissions: str = ""
    owner_id: str = ""
    props: dict[str, str] = field(default_factory=dict)  # dead properties: Clark name -> stored value
    locks: list[ActiveLock] = field(default_factory=list)
    processing_status: str = ""  # files: "processing" | "ready" | "infected" | "error"
    scan_status: str = ""
    scan_time: int = 0  # unix seconds
    scan_partial: bool = False
    has_preview: bool = False

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'


def lock_from_pb(lock: pb.Lock, now: float | None = None) -> ActiveLock:
    left: int | None = None
    if lock.expires:
        left = max(0, int(lock.expires - (now if now is not None else time.time())))
    return ActiveLock(
        token=lock.token,
        scope="shared" if lock.scope == pb.LOCK_SCOPE_SHARED else "exclusive",
        depth="infinity" if lock.depth_infinity else "0",
        owner=lock.owner,
        timeout=left,
        root_path=lock.root_path,
    )


def from_info(info: pb.ResourceInfo, path: str | None = None) -> Resource:
    """`path` overrides info.path (the request path, as the client spelled it)."""
    checksums = {}
    if info.HasField("checksums"):
        sums = info.checksums
        checksums = {k: v for k, v in (("SHA1", sums.sha1), ("MD5", sums.md5), ("ADLER32", sums.adler32)) if v}
    is_dir = info.type == pb.RESOURCE_TYPE_CONTAINER
    return Resource(
        path=path if path is not None else (info.path or "/"),
        is_dir=is_dir,
        size=info.size,
        mtime=info.mtime_ns / 1e9,
        etag=info.etag,
        id=info.id,
        content_type=info.mime_type or ("httpd/unix-directory" if is_dir else "application/octet-stream"),
        checksums=checksums,
        permissions=info.permissions,
        owner_id=info.owner_id,
        props=dict(info.arbitrary_metadata) if info.arbitrary_metadata else {},
        locks=[lock_from_pb(lk) for lk in info.locks] if info.locks else [],
        processing_status=info.processing_status,
        scan_status=info.scan_status,
        scan_time=info.scan_time,
        scan_partial=info.scan_partial,
        has_preview=has_preview(info),
    )
