"""The PublicLinks gRPC service: a link token (and password) in, an internal token scoped to the link out.

Unknown, expired and removed tokens take the same path (one share lookup) and
get the same NOT_FOUND; each counts as a failure of the client address, so
guessing tokens is throttled like guessing passwords.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from typing import NoReturn

import grpc
import grpc.aio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from prometheus_client import CollectorRegistry, Counter

from ocisd import authz, identity
from ocisd.api.sharing.v1 import permissions, sharing_pb2, sharing_pb2_grpc
from ocisd.logs import Logger
from ocisd.rpc.client import RpcClients
from ocisd.throttle import LoginThrottle

NOT_FOUND = "no such public link"
WRONG_PASSWORD = "public link password missing or wrong"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_HASHER = PasswordHasher()  # verify reads the parameters from the stored hash


async def password_matches(stored: str, password: str) -> bool:
    """argon2id verification in a worker thread: it is deliberately slow."""
    try:
        return await asyncio.to_thread(_HASHER.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # it raises; this tells the type checker


def scoped_identity(share: sharing_pb2.Share) -> identity.Identity:
    """Nobody's account: an identity that reaches the link's resource with the link's bits, nothing else."""
    bits = permissions.applicable(share.permissions, share.is_folder)
    return identity.Identity(
        user_id=f"public-link:{share.id}",
        username="public",
        display_name=share.name or "Public link",
        scope=identity.Scope(resource=share.resource_id, bits=bits),
    )


class PublicLinksService(sharing_pb2_grpc.PublicLinksServicer):
    def __init__(
        self, rpc: RpcClients, secret: str, ttl: float, throttle: LoginThrottle, log: Logger, metrics: CollectorRegistry
    ) -> None:
        self._sharing = rpc.stub("sharing", sharing_pb2_grpc.SharingStub)
        self._service = identity.ServiceToken(secret, "storage-publiclink")
        self._secret = secret
        self._ttl = ttl
        self._throttle = throttle
        self._log = log
        self._attempts = Counter("publiclink_attempts", "Public link logins by result.", ["result"], registry=metrics)

    async def Authenticate(
        self, request: sharing_pb2.AuthenticateLinkRequest, context: grpc.aio.ServicerContext
    ) -> sharing_pb2.AuthenticateLinkResponse:
        await authz.require_service(context)  # the client address is the caller's word: only extensions give it
        token, ip = request.token, request.client_ip
        locked = await self._throttle.admit(token, ip)
        if locked:
            self._attempts.labels("throttled").inc()
            context.set_trailing_metadata((("retry-after", str(math.ceil(locked))),))
            await _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, "too many failed attempts; try again later")
        found = await self._link(token, context)
        if found is None:
            self._fail(token, ip, "unknown")
            await _abort(context, grpc.StatusCode.NOT_FOUND, NOT_FOUND)
        share, stored = found
        if stored and not request.password:
            # Not a guess (a browser opening the page, a client before its prompt): answered, not counted.
            await _abort(context, grpc.StatusCode.UNAUTHENTICATED, WRONG_PASSWORD)
        if stored and not await password_matches(stored, request.password):
            self._fail(token, ip, "invalid")
            await _abort(context, grpc.StatusCode.UNAUTHENTICATED, WRONG_PASSWORD)
        self._throttle.succeeded(token, ip)
        self._attempts.labels("ok").inc()
        access = identity.mint(self._secret, scoped_identity(share), self._ttl)
        share.has_password = bool(stored)
        return sharing_pb2.AuthenticateLinkResponse(share=share, access_token=access, expires=time.time() + self._ttl)

    def _fail(self, token: str, ip: str, result: str) -> None:
        self._attempts.labels(result).inc()
        self._throttle.failed(token, ip)
        self._log.info("public link login failed", result=result, client_ip=ip)

    async def _link(self, token: str, context: grpc.aio.ServicerContext) -> tuple[sharing_pb2.Share, str] | None:
        """The live link behind `token` and its password hash; None when unknown, expired or removed."""
        if not _TOKEN.match(token):
            return None
        try:
            with authz.acting_as(self._service.get()):
                reply = await self._sharing.GetLinkByToken(sharing_pb2.GetLinkByTokenRequest(token=token))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            self._log.warning("sharing unavailable", code=exc.code().name, details=exc.details() or "")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the share manager is unavailable")
        share = reply.share
        if share.share_type != sharing_pb2.SHARE_TYPE_LINK or share.token != token:
            return None
        if share.expires and share.expires <= time.time():
            return None
        if not permissions.applicable(share.permissions, share.is_folder):
            return None  # a link that grants nothing leads nowhere
        return share, reply.password_hash
