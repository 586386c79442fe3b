"""The Users gRPC service: a thin adapter over `Accounts`, with who-may-do-what.

The admin and the system identity manage every account; a user may read any
user, and change their own password and app tokens. Checking passwords and app
tokens is for the system identity (the auth extensions) only.
"""

from __future__ import annotations

from typing import Any

import grpc.aio

from ocisd import authz, identity
from ocisd.api.identity.v1 import users_pb2, users_pb2_grpc
from ocisd.api.identity.v1.contract import Forbidden, InvalidValue, NotFound, handled
from ocisd.config.shared import SharedConfig

from .accounts import Accounts
from .backends import TokenRecord, UserRecord


def user_pb(user: UserRecord) -> users_pb2.User:
    return users_pb2.User(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        enabled=user.enabled,
        created=user.created,
    )


def token_pb(token: TokenRecord) -> users_pb2.AppToken:
    return users_pb2.AppToken(
        id=token.id, user_id=token.user_id, label=token.label, created=token.created, expires=token.expires
    )


class UsersService(users_pb2_grpc.UsersServicer):
    def __init__(self, accounts: Accounts, shared: SharedConfig) -> None:
        self._accounts = accounts
        self._shared = shared

    def _caller(self) -> identity.Identity:
        who = identity.CURRENT.get()
        if who is None:  # the guard lets no anonymous call through; be explicit anyway
            raise Forbidden("no identity")
        return who

    def _require_admin_or_self(self, user_id: str = "") -> None:
        who = self._caller()
        if not (authz.is_privileged(who, self._shared) or (user_id and who.user_id == user_id)):
            raise Forbidden("only the admin may do this")

    def _require_system(self) -> None:
        if self._caller().user_id != self._shared.system_user_id or not self._shared.system_user_id:
            raise Forbidden("only internal services may check credentials")

    @handled
    async def CreateUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self()
        user = await self._accounts.create(
            request.username, request.password, request.display_name, request.email, request.id
        )
        return user_pb(user)

    @handled
    async def GetUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._caller()
        if bool(request.id) == bool(request.username):
            raise InvalidValue("give exactly one of id and username")
        return user_pb(
            await (self._accounts.get(request.id) if request.id else self._accounts.by_name(request.username))
        )

    @handled
    async def ListUsers(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.ListUsersResponse:
        self._require_admin_or_self()
        return users_pb2.ListUsersResponse(users=[user_pb(u) for u in await self._accounts.find(request.query)])

    @handled
    async def UpdateUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self(request.id)
        display_name = request.display_name if request.HasField("display_name") else None
        email = request.email if request.HasField("email") else None
        return user_pb(await self._accounts.update(request.id, display_name, email))

    @handled
    async def SetPassword(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin_or_self(request.id)
        await self._accounts.set_password(request.id, request.password)
        return users_pb2.Empty()

    @handled
    async def SetEnabled(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self()
        return user_pb(await self._accounts.set_enabled(request.id, request.enabled))

    @handled
    async def DeleteUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin_or_self()
        await self._accounts.delete(request.id)
        return users_pb2.Empty()

    @handled
    async def VerifyPassword(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.VerifyPasswordResponse:
        self._require_system()
        user = await self._accounts.verify_password(request.username, request.password)
        if user is None:
            return users_pb2.VerifyPasswordResponse(ok=False)
        return users_pb2.VerifyPasswordResponse(ok=True, user=user_pb(user))

    @handled
    async def CreateAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.CreateAppTokenResponse:
        self._require_admin_or_self(request.user_id)
        token, secret = await self._accounts.create_token(request.user_id, request.label, request.ttl)
        return users_pb2.CreateAppTokenResponse(token=token_pb(token), secret=secret)

    @handled
    async def ListAppTokens(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.ListAppTokensResponse:
        self._require_admin_or_self(request.user_id)
        return users_pb2.ListAppTokensResponse(
            tokens=[token_pb(t) for t in await self._accounts.tokens(request.user_id)]
        )

    @handled
    async def RevokeAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        who = self._caller()
        if not authz.is_privileged(who, self._shared) and request.id not in {
            t.id for t in await self._accounts.tokens(who.user_id)
        }:
            raise NotFound(f"no app token with id {request.id!r}")
        await self._accounts.revoke_token(request.id)
        return users_pb2.Empty()

    @handled
    async def VerifyAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.VerifyAppTokenResponse:
        self._require_system()
        user = await self._accounts.verify_token(request.secret)
        if user is None:
            return users_pb2.VerifyAppTokenResponse(ok=False)
        return users_pb2.VerifyAppTokenResponse(ok=True, user=user_pb(user))
