"""The Users gRPC service: a thin adapter over `Accounts`, with who-may-do-what.

The admin and the system identity manage every account; a user may read any
user, and change their own password and app tokens. Checking passwords and app
tokens is for the system identity (the auth extensions) only.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from ocisd import authz, identity
from ocisd.api.identity.v1 import users_pb2, users_pb2_grpc
from ocisd.config.shared import SharedConfig

from .accounts import Accounts, InvalidValue, NotFound
from .backends import NameTaken, TokenRecord, UserRecord
from .names import InvalidName

R = TypeVar("R")
Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]

STATUS_OF = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    InvalidValue: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidName: grpc.StatusCode.INVALID_ARGUMENT,
    NameTaken: grpc.StatusCode.ALREADY_EXISTS,
    PermissionError: grpc.StatusCode.PERMISSION_DENIED,
}


def status_errors(method: Method[R]) -> Method[R]:
    """Turn the domain's exceptions into gRPC status codes (their messages never hold secrets)."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except tuple(STATUS_OF) as exc:
            code = next(c for t, c in STATUS_OF.items() if isinstance(exc, t))
            message = f"already exists: {exc}" if isinstance(exc, NameTaken) else str(exc)
            await context.abort(code, message)
            raise  # abort raises; this keeps type checkers content

    return wrapper


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
            raise PermissionError("no identity")
        return who

    def _require_admin_or_self(self, user_id: str = "") -> None:
        who = self._caller()
        if not (authz.is_privileged(who, self._shared) or (user_id and who.user_id == user_id)):
            raise PermissionError("only the admin may do this")

    def _require_system(self) -> None:
        if self._caller().user_id != self._shared.system_user_id or not self._shared.system_user_id:
            raise PermissionError("only internal services may check credentials")

    @status_errors
    async def CreateUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self()
        user = await self._accounts.create(
            request.username, request.password, request.display_name, request.email, request.id
        )
        return user_pb(user)

    @status_errors
    async def GetUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._caller()
        if bool(request.id) == bool(request.username):
            raise InvalidValue("give exactly one of id and username")
        return user_pb(self._accounts.get(request.id) if request.id else self._accounts.by_name(request.username))

    @status_errors
    async def ListUsers(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.ListUsersResponse:
        self._require_admin_or_self()
        return users_pb2.ListUsersResponse(users=[user_pb(u) for u in self._accounts.find(request.query)])

    @status_errors
    async def UpdateUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self(request.id)
        display_name = request.display_name if request.HasField("display_name") else None
        email = request.email if request.HasField("email") else None
        return user_pb(self._accounts.update(request.id, display_name, email))

    @status_errors
    async def SetPassword(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin_or_self(request.id)
        await self._accounts.set_password(request.id, request.password)
        return users_pb2.Empty()

    @status_errors
    async def SetEnabled(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.User:
        self._require_admin_or_self()
        return user_pb(self._accounts.set_enabled(request.id, request.enabled))

    @status_errors
    async def DeleteUser(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        self._require_admin_or_self()
        self._accounts.delete(request.id)
        return users_pb2.Empty()

    @status_errors
    async def VerifyPassword(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.VerifyPasswordResponse:
        self._require_system()
        user = await self._accounts.verify_password(request.username, request.password)
        if user is None:
            return users_pb2.VerifyPasswordResponse(ok=False)
        return users_pb2.VerifyPasswordResponse(ok=True, user=user_pb(user))

    @status_errors
    async def CreateAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.CreateAppTokenResponse:
        self._require_admin_or_self(request.user_id)
        token, secret = self._accounts.create_token(request.user_id, request.label, request.ttl)
        return users_pb2.CreateAppTokenResponse(token=token_pb(token), secret=secret)

    @status_errors
    async def ListAppTokens(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.ListAppTokensResponse:
        self._require_admin_or_self(request.user_id)
        return users_pb2.ListAppTokensResponse(tokens=[token_pb(t) for t in self._accounts.tokens(request.user_id)])

    @status_errors
    async def RevokeAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.Empty:
        who = self._caller()
        if not authz.is_privileged(who, self._shared) and request.id not in {
            t.id for t in self._accounts.tokens(who.user_id)
        }:
            raise NotFound(f"no app token with id {request.id!r}")
        self._accounts.revoke_token(request.id)
        return users_pb2.Empty()

    @status_errors
    async def VerifyAppToken(self, request: Any, context: grpc.aio.ServicerContext) -> users_pb2.VerifyAppTokenResponse:
        self._require_system()
        user = self._accounts.verify_token(request.secret)
        if user is None:
            return users_pb2.VerifyAppTokenResponse(ok=False)
        return users_pb2.VerifyAppTokenResponse(ok=True, user=user_pb(user))
