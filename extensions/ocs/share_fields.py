"""ownCloud's share objects from Sharing messages: the fields clients and pyocclient parse.

`path` and `file_target` are in the caller's view: a share the caller made shows
the resource's path in their tree, a received one `/Shares/<mount point>`.
User and group ids become names (`uid_owner`, `share_with`) as ownCloud shows them.
"""

from __future__ import annotations

import datetime
import mimetypes
from typing import Any

import grpc
import grpc.aio

from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.rpc.client import RpcClients

SHARES_FOLDER = "/Shares"
FOLDER_MIME = "httpd/unix-directory"
DATE = "%Y-%m-%d"
# ownCloud's per-recipient states (not the proto's numbers).
OC_STATE = {spb.SHARE_STATE_ACCEPTED: 0, spb.SHARE_STATE_PENDING: 1, spb.SHARE_STATE_DECLINED: 2}
STATE_FILTER = {
    "accepted": [spb.SHARE_STATE_ACCEPTED],
    "pending": [spb.SHARE_STATE_PENDING],
    "declined": [spb.SHARE_STATE_DECLINED],
    "rejected": [spb.SHARE_STATE_DECLINED],
    "all": [],
}


class BadDate(ValueError):
    pass


def parse_expiry(text: str) -> int:
    """`YYYY-MM-DD` (a time after it is ignored, as ownCloud does) → the end of that day, Unix seconds (UTC).
    "" → 0, no expiry."""
    text = text.strip()
    if not text:
        return 0
    try:
        day = datetime.datetime.strptime(text[:10], DATE).replace(tzinfo=datetime.UTC)
    except ValueError:
        raise BadDate("Invalid date. Format must be YYYY-MM-DD") from None
    if len(text) > 10 and text[10] not in " T":
        raise BadDate("Invalid date. Format must be YYYY-MM-DD")
    return int((day + datetime.timedelta(days=1)).timestamp()) - 1


def expiration(expires: int) -> str | None:
    if not expires:
        return None
    return datetime.datetime.fromtimestamp(expires, datetime.UTC).strftime(DATE) + " 00:00:00"


class Formatter:
    """Formats shares for one request, looking each user, group and resource up once."""

    def __init__(self, rpc: RpcClients, url: str) -> None:
        self._users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self._groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self._storage: Any = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._url = url.rstrip("/")
        self._names: dict[tuple[int, str], tuple[str, str]] = {}
        self._infos: dict[str, pb.ResourceInfo | None] = {}

    async def name(self, share_type: int, some_id: str) -> tuple[str, str]:
        """(name, display name) of a user (share type 0) or group (1); the id itself when it is gone."""
        key = (share_type, some_id)
        if key not in self._names:
            try:
                if share_type == spb.SHARE_TYPE_GROUP:
                    g = await self._groups.GetGroup(groups_pb2.GetGroupRequest(id=some_id))
                    self._names[key] = (g.name, g.display_name or g.name)
                else:
                    u = await self._users.GetUser(users_pb2.GetUserRequest(id=some_id))
                    self._names[key] = (u.username, u.display_name or u.username)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                self._names[key] = (some_id, some_id)
        return self._names[key]

    async def info(self, resource_id: str) -> pb.ResourceInfo | None:
        """The resource as the caller sees it; None when they cannot (any more)."""
        if resource_id not in self._infos:
            try:
                reply = await self._storage.Stat(pb.StatRequest(ref=pb.Reference(node_id=resource_id)))
                self._infos[resource_id] = reply.info
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                    raise
                self._infos[resource_id] = None
        return self._infos[resource_id]

    def knows(self, info: pb.ResourceInfo) -> None:
        """A resource the request already stat'ed (by path)."""
        self._infos[info.id] = info

    async def share(self, share: spb.Share, received: spb.ReceivedShare | None = None) -> dict[str, Any]:
        if received is not None:
            # The recipient's view: under /Shares, no Stat needed (a long received list stays cheap).
            path = f"{SHARES_FOLDER}/{received.mount_point}"
            mime = FOLDER_MIME if share.is_folder else mimetypes.guess_type(received.mount_point)[0]
            parent = ""
        else:
            info = await self.info(share.resource_id)
            path = info.path if info is not None else ""
            mime = info.mime_type if info is not None else ""
            parent = info.parent_id if info is not None else ""
        owner, owner_display = await self.name(spb.SHARE_TYPE_USER, share.owner_id)
        creator, creator_display = await self.name(spb.SHARE_TYPE_USER, share.creator_id)
        if share.share_type == spb.SHARE_TYPE_LINK:
            with_name = with_display = "***redacted***" if share.has_password else None
        else:
            with_name, with_display = await self.name(share.share_type, share.grantee_id)
        link = share.share_type == spb.SHARE_TYPE_LINK
        return {
            "id": share.id,
            "share_type": share.share_type,
            "uid_owner": creator,
            "displayname_owner": creator_display,
            "permissions": share.permissions,
            "stime": share.ctime,
            "parent": share.parent_share_id or None,
            "expiration": expiration(share.expires),
            "token": share.token if link else None,
            "uid_file_owner": owner,
            "displayname_file_owner": owner_display,
            "path": path,
            "item_type": "folder" if share.is_folder else "file",
            "mimetype": mime or "application/octet-stream",
            "storage_id": share.resource_id.partition("!")[0],
            "storage": 0,
            "item_source": share.resource_id,
            "file_source": share.resource_id,
            "file_parent": parent,
            "file_target": path,
            "share_with": with_name,
            "share_with_displayname": with_display,
            "mail_send": 0,
            "name": share.name if link else "",
            "url": f"{self._url}/s/{share.token}" if link else None,
            "state": OC_STATE[received.state] if received is not None else 0,
        }
