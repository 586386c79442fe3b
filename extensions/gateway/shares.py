"""The `/Shares` folder in every home: routed to storage-shares, shown in the home root.

A home root's Stat or listing shows a `Shares` folder when the caller has
accepted shares, and its etag combines the home's with `/Shares`'s, so a change
by an owner inside a shared folder reaches the recipient's root (desktop sync).
Who has nothing mounted is remembered (until a share event names them, or
`NONE_TTL`), so their home root costs what it did before sharing existed.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from typing import Any

import grpc
import grpc.aio

from ocisd.api.sharing.v1 import mounts
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.bus.messages import Message
from ocisd.identity import Identity
from ocisd.logs import Logger
from ocisd.rpc.client import RpcClients

NONE_TTL = 60.0  # a group share reaches a user without an event naming them: look again after this long
# The folder is an addition to the home root: a failing storage-shares (or sharing) delays a root by this
# much at most, and then not again for FAILED_TTL.
FOLDER_TIMEOUT = 2.0
FAILED_TTL = 5.0
MAX_REMEMBERED = 100_000
ROOT_METHODS = {"Stat": pb.StatResponse, "ListContainer": pb.ListContainerResponse}


def targets_shares(request: Any, home: str) -> bool:
    """Does any reference of the request lie at `/Shares` or below in the caller's home?"""
    return any(
        mounts.below_shares(getattr(request, f), home)
        for f in ("ref", "source", "destination")
        if f in request.DESCRIPTOR.fields_by_name and request.HasField(f)
    )


def is_home_root(request: Any, home: str) -> bool:
    ref: pb.Reference = request.ref
    return not ref.node_id and ref.space_id in ("", home) and ref.path in ("", "/")


def combined_etag(home: str, shares: str) -> str:
    return hashlib.sha1(f"{home}\0{shares}".encode()).hexdigest()


class SharesFolders:
    def __init__(self, rpc: RpcClients, log: Logger, provider: str = mounts.PROVIDER) -> None:
        self._rpc = rpc
        self._log = log
        self._provider = provider
        self._nothing: dict[str, float] = {}  # user id -> until when they are known to have nothing mounted

    def on_share_event(self, msg: Message) -> None:
        recipients = msg.data.get("recipients")
        if isinstance(recipients, list) and all(isinstance(r, str) for r in recipients):
            for user_id in recipients:
                self._nothing.pop(user_id, None)
        else:  # a record we cannot read: forget everyone rather than hide someone's shares
            self._nothing.clear()

    async def folder(self, who: Identity) -> pb.ResourceInfo | None:
        """The caller's `/Shares` folder, or None when nothing is mounted (or storage-shares is not deployed)."""
        now = time.monotonic()
        if self._nothing.get(who.user_id, 0.0) > now or not self._rpc.targets(self._provider):
            return None
        request = pb.StatRequest(ref=pb.Reference(path=mounts.PATH))
        try:
            reply = await self._rpc.call(self._provider, pb_grpc.StorageStub, "Stat", request, timeout=FOLDER_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if len(self._nothing) >= MAX_REMEMBERED:
                self._nothing.clear()
            found_none = exc.code() == grpc.StatusCode.NOT_FOUND
            self._nothing[who.user_id] = now + (NONE_TTL if found_none else FAILED_TTL)
            if not found_none:  # the home itself still answers; the folder shows again once storage-shares does
                self._log.warning("no /Shares folder for the home root", code=exc.code().name)
            return None
        info: pb.ResourceInfo = reply.info
        return info

    async def decorate(self, method: str, request: Any, answer: bytes, who: Identity) -> bytes:
        """A home root's answer with `/Shares` in it (and its etag in the root's)."""
        folder = await self.folder(who)
        if folder is None:
            return answer
        reply = ROOT_METHODS[method].FromString(answer)
        reply.info.etag = combined_etag(reply.info.etag, folder.etag)
        reply.info.mtime_ns = max(reply.info.mtime_ns, folder.mtime_ns)
        if method == "ListContainer":
            kept = [i for i in reply.infos if i.name != mounts.FOLDER]
            if not request.page_token:  # listed once, on the first page
                names = [i.name.encode() for i in kept]
                kept.insert(bisect.bisect(names, mounts.FOLDER.encode()), folder)
            del reply.infos[:]
            reply.infos.extend(kept)
        data: bytes = reply.SerializeToString()
        return data
