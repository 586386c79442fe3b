"""The `/Shares` folder itself: the caller's accepted received shares, each by its mount point.

Its etag derives from its entries' names, etags and permissions, so a change
anywhere below a shared folder (which changes that folder's etag in the owner's
space) changes `/Shares` too. A share whose resource is gone (or no longer
reachable) is left out.
"""

from __future__ import annotations

import asyncio
import hashlib

import grpc
import grpc.aio

from ocisd.api.sharing.v1 import mounts
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc as spb_grpc
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import caller, external_id, home_space_id
from ocisd.rpc.client import RpcClients

FOLDER_NODE = "shares"  # the folder's node part in its id "<home space>!shares" (never a storage uuid)
GONE = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)


def _mountable(share: spb.ReceivedShare) -> bool:
    """Accepted, at one path segment: anything else the service might answer is left out, never followed."""
    name = share.mount_point
    return share.state == spb.SHARE_STATE_ACCEPTED and name not in ("", ".", "..") and "/" not in name


class SharesFolder:
    def __init__(self, rpc: RpcClients) -> None:
        self.gateway = rpc.stub("gateway", pb_grpc.StorageStub)
        self._sharing = rpc.stub("sharing", spb_grpc.SharingStub)

    def folder_id(self) -> str:
        return external_id(home_space_id(caller().user_id), FOLDER_NODE)

    async def accepted(self) -> dict[str, spb.ReceivedShare]:
        """The caller's accepted received shares by mount point."""
        request = spb.ListReceivedSharesRequest(states=[spb.SHARE_STATE_ACCEPTED])
        reply = await self._sharing.ListReceivedShares(request)
        return {s.mount_point: s for s in reply.shares if _mountable(s)}

    async def _entry(self, mount: str, share: spb.ReceivedShare) -> pb.ResourceInfo | None:
        try:
            reply = await self.gateway.Stat(pb.StatRequest(ref=pb.Reference(node_id=share.share.resource_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in GONE:
                return None
            raise
        info: pb.ResourceInfo = reply.info
        info.name = mount
        info.path = f"{mounts.PATH}/{mount}"
        info.parent_id = self.folder_id()
        info.permissions = mounts.letters(info.permissions)
        return info

    async def listing(self) -> tuple[pb.ResourceInfo, list[pb.ResourceInfo]]:
        """The folder and its entries (ordered by name); NOT_FOUND while nothing is mounted."""
        shares = await self.accepted()
        found = await asyncio.gather(*(self._entry(m, s) for m, s in shares.items()))
        entries = sorted((e for e in found if e is not None), key=lambda e: e.name.encode())
        if not entries:
            raise errors.not_found(f"no accepted shares: no {mounts.PATH} folder")
        digest = hashlib.sha1()
        for e in entries:
            digest.update(f"{e.name}\0{e.etag}\0{e.permission_bits}\n".encode())
        home = home_space_id(caller().user_id)
        info = pb.ResourceInfo(
            id=self.folder_id(),
            parent_id=external_id(home, home),
            space_id=home,
            name=mounts.FOLDER,
            path=mounts.PATH,
            type=pb.RESOURCE_TYPE_CONTAINER,
            size=sum(e.size for e in entries),
            mtime_ns=max(e.mtime_ns for e in entries),
            etag=digest.hexdigest(),
            mime_type="httpd/unix-directory",
            permissions="M",
            owner_id=caller().user_id,
            permission_bits=1,
        )
        return info, entries

    async def info(self) -> pb.ResourceInfo:
        return (await self.listing())[0]

    async def rename(self, mount: str, new: str) -> pb.MoveCopyResponse:
        """Moving a mount point within `/Shares` accepts the share again under the new name."""
        mounted = await self.accepted()
        share = mounted.get(mount)
        if share is None:
            raise errors.not_found(f"no share is mounted at {mounts.PATH}/{mount}")
        if new in mounted:
            raise errors.StorageError(errors.Kind.EXISTS, "exists", f"{mounts.PATH}/{new} is taken")
        request = spb.UpdateReceivedShareRequest(id=share.share.id, state=spb.SHARE_STATE_ACCEPTED, mount_point=new)
        renamed = (await self._sharing.UpdateReceivedShare(request)).share
        info = await self._entry(renamed.mount_point, renamed)
        if info is None:
            raise errors.not_found("the shared resource is gone")
        return pb.MoveCopyResponse(info=info)

    async def decline(self, share: spb.ReceivedShare) -> pb.DeleteResponse:
        """Deleting a mount point declines the share (the owner's data stays)."""
        request = spb.UpdateReceivedShareRequest(id=share.share.id, state=spb.SHARE_STATE_DECLINED)
        await self._sharing.UpdateReceivedShare(request)
        return pb.DeleteResponse()
