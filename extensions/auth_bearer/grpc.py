"""The AuthBearer gRPC service: an issuer's JWT or a personal app token in, internal token out."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd import authz, sessions
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, users_pb2
from ocisd.logs import Logger

from .jwts import InvalidBearer, Trusts

INVALID = "invalid bearer token"


class AuthBearerService(auth_pb2_grpc.AuthBearerServicer):
    def __init__(
        self,
        issuer: sessions.Issuer,
        verifier: Trusts,
        username_claim: str,
        log: Logger,
        metrics: CollectorRegistry,
    ) -> None:
        self._issuer = issuer
        self._verifier = verifier
        self._claim = username_claim
        self._log = log
        self._attempts = Counter(
            "auth_bearer_attempts", "Bearer logins by kind and result.", ["kind", "result"], registry=metrics
        )

    async def _user_of_jwt(self, token: str) -> users_pb2.User | None:
        try:
            claims = await self._verifier.verify(token)
        except InvalidBearer as exc:
            self._log.info("bearer token refused", reason=str(exc))
            return None
        username = claims.get(self._claim)
        if not isinstance(username, str) or not username:
            self._log.info("bearer token refused", reason=f"no {self._claim} claim")
            return None
        try:
            user = await self._issuer.users.GetUser(users_pb2.GetUserRequest(username=username))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return user if user.enabled else None

    async def _user_of_app_token(self, secret: str) -> users_pb2.User | None:
        reply = await self._issuer.users.VerifyAppToken(users_pb2.VerifyAppTokenRequest(secret=secret))
        return reply.user if reply.ok else None

    async def Authenticate(self, request: Any, context: grpc.aio.ServicerContext) -> auth_pb2.AuthResponse:
        await authz.require_service(context)
        token = request.token.strip()
        kind = "jwt" if token.count(".") == 2 else "app"  # app token secrets are URL-safe base64: no dots
        with self._issuer.as_system():
            user = await (self._user_of_jwt(token) if kind == "jwt" else self._user_of_app_token(token))
        if user is None:
            self._attempts.labels(kind, "invalid").inc()
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID)
        assert user is not None
        self._attempts.labels(kind, "ok").inc()
        return await self._issuer.issue(user)
