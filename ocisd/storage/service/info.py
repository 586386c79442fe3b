"""Driver data → `ocisd.storage.v1` messages."""

from __future__ import annotations

from typing import Any

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from ocisd.api.sharing.v1.permissions import ALL, CREATE, DELETE, FILE_ALL, SHARE, UPDATE, applicable
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import FILE_PERMISSIONS, FOLDER_PERMISSIONS, external_id
from ocisd.storage.resources import FILE, LockInfo, Node


def letters(bits: int, file: bool) -> str:
    """ownCloud's WebDAV permission letters for `bits` (those inherited from a folder included)."""
    out = ("R" if bits & SHARE else "") + ("D" if bits & DELETE else "") + ("NV" if bits & UPDATE else "")
    if file:
        return out + ("W" if bits & UPDATE else "")
    return out + ("CK" if bits & CREATE else "")


def _fields(node: Node, owner: str, bits: int | None) -> dict[str, Any]:
    file = node.type == FILE
    if bits is None:  # the owner: the constants, nothing to compute on the hot path
        perms, held = (FILE_PERMISSIONS, FILE_ALL) if file else (FOLDER_PERMISSIONS, ALL)
    else:
        perms, held = letters(bits, file), applicable(bits, not file)
    return {
        "id": external_id(node.space, node.id),
        "parent_id": external_id(node.space, node.parent) if node.parent else "",
        "space_id": node.space,
        "name": node.name,
        "path": node.path,
        "type": pb.RESOURCE_TYPE_FILE if file else pb.RESOURCE_TYPE_CONTAINER,
        "size": node.size,
        "mtime_ns": node.mtime,
        "etag": node.etag,
        "mime_type": node.mime,
        "permissions": perms,
        "owner_id": owner,
        "permission_bits": held,
    }


def _extras(msg: pb.ResourceInfo, node: Node) -> None:
    # Set in place: nested and empty fields in the constructor cost more than the rest together.
    if node.type == FILE:
        sums = msg.checksums
        sums.sha1, sums.md5, sums.adler32 = node.sha1, node.md5, node.adler32
        msg.processing_status = node.status
        if node.scan_status:
            msg.scan_status, msg.scan_time, msg.scan_partial = node.scan_status, node.scan_time, node.scan_partial
    if node.props:
        msg.arbitrary_metadata.update(node.props)
    if node.locks:
        msg.locks.extend(lock_info(lk, node.space) for lk in node.locks)


def resource_info(node: Node, owner: str, bits: int | None = None) -> pb.ResourceInfo:
    """The node as `owner`'s, seen by a caller holding `bits` (None: the owner)."""
    msg = pb.ResourceInfo(**_fields(node, owner, bits))
    _extras(msg, node)
    return msg


def add_infos(
    target: RepeatedCompositeFieldContainer[pb.ResourceInfo],
    nodes: list[Node],
    owner: str,
    bits: int | None = None,
    more: dict[str, int] | None = None,
) -> None:
    """Append many nodes to a repeated field (a listing page) without intermediate messages; `more`
    adds bits some nodes' own grants give."""
    if bits is None or not more:
        for node in nodes:
            _extras(target.add(**_fields(node, owner, bits)), node)
        return
    for node in nodes:
        _extras(target.add(**_fields(node, owner, bits | more.get(node.id, 0))), node)


def lock_info(lk: LockInfo, space: str) -> pb.Lock:
    return pb.Lock(
        token=lk.token,
        scope=pb.LOCK_SCOPE_EXCLUSIVE if lk.exclusive else pb.LOCK_SCOPE_SHARED,
        depth_infinity=lk.depth_infinity,
        owner=lk.owner,
        timeout_seconds=lk.timeout,
        expires=lk.expires,
        root_id=external_id(space, lk.node),
        root_path=lk.path,
        user_id=lk.user,
    )
