"""A storage `Space` as Libre Graph's drive object, and a root grant as a drive permission."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocisd.api.storage.v1.contract import PERSONAL, SHARES_SPACE_ID, VIRTUAL, space_role

# oCIS's quota states: the share of the quota used
NEARING, CRITICAL = 0.75, 0.9


def timestamp(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def quota_json(q: Any) -> dict[str, Any]:
    total = 0 if q.unlimited else q.total
    used = q.used
    state = "normal"
    if total:
        share = used / total
        state = (
            "exceeded" if share >= 1 else "critical" if share >= CRITICAL else "nearing" if share >= NEARING else state
        )
    return {"total": total, "used": used, "remaining": q.remaining, "state": state}


def root_id(space_id: str) -> str:
    return f"{space_id}!{space_id}"


def drive_json(space: Any, url: str, permissions: list[dict[str, Any]]) -> dict[str, Any]:
    drive: dict[str, Any] = {
        "id": space.id,
        "driveType": space.type,
        "driveAlias": space.alias,
        "name": space.name,
        "description": space.description,
        "quota": quota_json(space.quota),
        "root": {
            "id": root_id(space.id),
            "webDavUrl": f"{url}/remote.php/dav/spaces/{space.id}",
            "eTag": space.root.etag,
            "permissions": permissions,
        },
        "webUrl": f"{url}/f/{root_id(space.id)}",
        "lastModifiedDateTime": timestamp(space.mtime_ns or space.root.mtime_ns),
    }
    if space.type == PERSONAL:
        drive["owner"] = {"user": {"id": space.owner_id, "displayName": space.name}}
    if space.disabled:
        drive["root"]["deleted"] = {"state": "trashed"}
    return drive


def shares_drive(url: str) -> dict[str, Any]:
    """The caller's accepted shares as the `virtual` drive (WebDAV serves it as their /Shares)."""
    return {
        "id": SHARES_SPACE_ID,
        "driveType": VIRTUAL,
        "driveAlias": "virtual/shares",
        "name": "Shares",
        "description": "",
        "root": {"id": root_id(SHARES_SPACE_ID), "webDavUrl": f"{url}/remote.php/dav/spaces/{SHARES_SPACE_ID}"},
        "webUrl": f"{url}/f/{root_id(SHARES_SPACE_ID)}",
    }


GRANTEE_PREFIX = {"user": "u", "group": "g"}


def permission_id(grantee_type: str, grantee_id: str) -> str:
    return f"{GRANTEE_PREFIX[grantee_type]}:{grantee_id}"


def grantee_of(perm_id: str) -> tuple[str, str] | None:
    """(type, id) a permission id names; None when it is not one."""
    prefix, _, grantee_id = perm_id.partition(":")
    kind = next((t for t, p in GRANTEE_PREFIX.items() if p == prefix), None)
    return (kind, grantee_id) if kind and grantee_id else None


def permission_json(grant: Any, display_name: str) -> dict[str, Any]:
    kind = grant.grantee.type
    identity = {kind: {"id": grant.grantee.id, "displayName": display_name}}
    return {
        "id": permission_id(kind, grant.grantee.id),
        "roles": [space_role(grant.permissions) or "custom"],
        "grantedToV2": identity,
        "grantedToIdentities": [identity],
    }
