"""The AuthMachine gRPC service: an internal service holding the machine key acts as a given user."""

from __future__ import annotations

import hmac
from typing import Any

import grpc
import grpc.aio

from ocisd import authz, sessions
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, users_pb2
from ocisd.logs import Logger

REFUSED = "machine authentication refused"


class AuthMachineService(auth_pb2_grpc.AuthMachineServicer):
    def __init__(self, issuer: sessions.Issuer, api_key: str, log: Logger) -> None:
        self._issuer = issuer
        self._key = api_key.encode()
        self._log = log

    async def Authenticate(self, request: Any, context: grpc.aio.ServicerContext) -> auth_pb2.AuthResponse:
        await authz.require_service(context)
        if not self._key or not hmac.compare_digest(request.api_key.encode(), self._key):
            self._log.warning("machine authentication refused", reason="wrong api key")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)
        if bool(request.user_id) == bool(request.username):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give exactly one of user_id and username")
        lookup = users_pb2.GetUserRequest(id=request.user_id, username=request.username)
        try:
            with self._issuer.as_system():
                user = await self._issuer.users.GetUser(lookup)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)
        if not user.enabled:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)
        return await self._issuer.issue(user)
