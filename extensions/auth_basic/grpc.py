"""The AuthBasic gRPC service: username and password in, internal token out (for extensions only)."""

from __future__ import annotations

import math
from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd import authz, sessions
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, contract, users_pb2
from ocisd.logs import Logger
from ocisd.throttle import LoginThrottle

from .cache import VerificationCache

INVALID = "invalid username or password"


class AuthBasicService(auth_pb2_grpc.AuthBasicServicer):
    def __init__(
        self,
        issuer: sessions.Issuer,
        cache: VerificationCache,
        throttle: LoginThrottle,
        log: Logger,
        metrics: CollectorRegistry,
    ) -> None:
        self._issuer = issuer
        self._cache = cache
        self._throttle = throttle
        self._log = log
        self._attempts = Counter("auth_basic_attempts", "Basic logins by result.", ["result"], registry=metrics)

    async def Authenticate(self, request: Any, context: grpc.aio.ServicerContext) -> auth_pb2.AuthResponse:
        await authz.require_service(context)  # the client IP is the caller's word: only extensions may give it
        username, password, ip = request.username, request.password, request.client_ip
        cached = self._cache.get(username, password)
        if cached is not None:
            self._attempts.labels("cached").inc()
            return cached
        subject = contract.key(username)
        locked = await self._throttle.admit(subject, ip)
        if locked:
            self._attempts.labels("throttled").inc()
            context.set_trailing_metadata((("retry-after", str(math.ceil(locked))),))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many failed logins; try again later")
        with self._issuer.as_system():
            reply = await self._issuer.users.VerifyPassword(
                users_pb2.VerifyPasswordRequest(username=username, password=password)
            )
        if not reply.ok:
            self._attempts.labels("invalid").inc()
            self._throttle.failed(subject, ip)
            self._log.info("login failed", username=username[:64], client_ip=ip)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID)
        self._throttle.succeeded(subject, ip)
        response = await self._issuer.issue(reply.user)
        self._cache.put(username, password, response)
        self._attempts.labels("ok").inc()
        return response
