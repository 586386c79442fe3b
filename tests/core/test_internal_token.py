"""Extensions reached directly (around the proxy) trust only a valid internal token, over HTTP and gRPC."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ocisd import identity
from ocisd.api.identity.v1 import users_pb2, users_pb2_grpc
from tests.support.harness import Deployment, http_get
from tests.support.identity import assert_no_secrets, call, config_value, identity_deployment, token_for


@pytest.fixture(scope="module")
def rt() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        dep.start_runtime("bus,users,groups,hello")
        yield dep


def admin(dep: Deployment) -> identity.Identity:
    return identity.Identity(user_id=config_value(dep, "admin_user_id"), username="admin")


def bad_tokens(dep: Deployment) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": identity.ISSUER, "aud": identity.AUDIENCE, "sub": admin(dep).user_id, "name": "admin", "iat": now}
    secret = config_value(dep, "jwt_secret")
    return {
        "wrong secret": token_for(dep, admin(dep), secret="not-the-shared-secret-but-just-as-long"),
        "expired": jwt.encode({**claims, "exp": now - 10}, secret, algorithm="HS256"),
        "wrong audience": jwt.encode({**claims, "exp": now + 60, "aud": "elsewhere"}, secret, algorithm="HS256"),
        "unsigned": jwt.encode({**claims, "exp": now + 60}, None, algorithm="none"),
        "garbage": "x.y.z",
    }


def greet(dep: Deployment, token: str) -> int:
    req = urllib.request.Request(dep.url("hello", path="/api/v0/greet"), data=b'{"name": "Ada"}', method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header(identity.HTTP_HEADER, token)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_http_refuses_forged_tokens_even_on_public_routes(rt: Deployment) -> None:
    assert greet(rt, token_for(rt, admin(rt))) == 200
    for what, token in bad_tokens(rt).items():
        assert greet(rt, token) == 401, what
    assert http_get(rt.url("hello", path="/not-public"))[0] == 401  # no token on a path hello did not open


def test_grpc_refuses_missing_and_forged_tokens(rt: Deployment) -> None:
    lookup = users_pb2.GetUserRequest(username="admin")
    assert call(rt, "users", users_pb2_grpc.UsersStub, "GetUser", lookup, token_for(rt, admin(rt))).username == "admin"
    for what, token in {"none": "", **bad_tokens(rt)}.items():
        with pytest.raises(grpc.RpcError) as err:
            call(rt, "users", users_pb2_grpc.UsersStub, "GetUser", lookup, token)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, what


def test_grpc_health_stays_public(rt: Deployment) -> None:
    with grpc.insecure_channel(rt.addr("users", "grpc_addr")) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_no_secret_in_any_log(rt: Deployment) -> None:
    secrets = [config_value(rt, k) for k in ("jwt_secret", "machine_auth_api_key", "admin_password")]
    assert assert_no_secrets(rt, secrets) > 0
