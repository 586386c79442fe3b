"""The Sharing gRPC service: a thin adapter from messages to the share manager."""

from __future__ import annotations

import dataclasses
from typing import Any

import grpc.aio

from ocisd import authz
from ocisd.api.sharing.v1 import sharing_pb2 as pb
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.sharing.v1.contract import handled

from .manager import ShareManager
from .stores import Received, ShareRecord

# The record's fields the message carries under the same name (not the password hash, nor the target).
SHARED_FIELDS = [f.name for f in dataclasses.fields(ShareRecord) if f.name not in ("password_hash", "target")]


def share_pb(share: ShareRecord) -> pb.Share:
    fields = {f: getattr(share, f) for f in SHARED_FIELDS}
    return pb.Share(**fields, has_password=bool(share.password_hash))


def received_pb(got: Received) -> pb.ReceivedShare:
    return pb.ReceivedShare(share=share_pb(got.share), state=got.state, mount_point=got.mount_point)  # type: ignore[arg-type]


class SharingService(sharing_pb2_grpc.SharingServicer):
    def __init__(self, manager: ShareManager) -> None:
        self._manager = manager

    @handled
    async def CreateShare(self, request: Any, context: grpc.aio.ServicerContext) -> pb.CreateShareResponse:
        return pb.CreateShareResponse(share=share_pb(await self._manager.create(request)))

    @handled
    async def GetShare(self, request: Any, context: grpc.aio.ServicerContext) -> pb.GetShareResponse:
        return pb.GetShareResponse(share=share_pb(await self._manager.get(request.id)))

    @handled
    async def UpdateShare(self, request: Any, context: grpc.aio.ServicerContext) -> pb.UpdateShareResponse:
        return pb.UpdateShareResponse(share=share_pb(await self._manager.update(request)))

    @handled
    async def RemoveShare(self, request: Any, context: grpc.aio.ServicerContext) -> pb.RemoveShareResponse:
        await self._manager.remove(request.id)
        return pb.RemoveShareResponse()

    @handled
    async def ListShares(self, request: Any, context: grpc.aio.ServicerContext) -> pb.ListSharesResponse:
        return pb.ListSharesResponse(shares=[share_pb(s) for s in await self._manager.created(request)])

    @handled
    async def ListReceivedShares(
        self, request: Any, context: grpc.aio.ServicerContext
    ) -> pb.ListReceivedSharesResponse:
        got = await self._manager.received(states=list(request.states))
        return pb.ListReceivedSharesResponse(shares=[received_pb(r) for r in got])

    @handled
    async def UpdateReceivedShare(
        self, request: Any, context: grpc.aio.ServicerContext
    ) -> pb.UpdateReceivedShareResponse:
        got = await self._manager.answer(request.id, request.state, request.mount_point)
        return pb.UpdateReceivedShareResponse(share=received_pb(got))

    @handled
    async def GetLinkByToken(self, request: Any, context: grpc.aio.ServicerContext) -> pb.GetLinkByTokenResponse:
        await authz.require_service(context)  # the password hash is for storage-publiclink only
        share = await self._manager.by_token(request.token)
        return pb.GetLinkByTokenResponse(share=share_pb(share), password_hash=share.password_hash)
