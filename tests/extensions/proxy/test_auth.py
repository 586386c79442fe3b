"""Authentication at the proxy: Basic and Bearer in, internal token forwarded, challenges, throttling."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import grpc
import jwt
import pytest

from ocisd import identity
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc
from tests.support.harness import Deployment, wait_until
from tests.support.identity import (
    ADMIN_PASSWORD,
    IDENTITY,
    add_user,
    assert_no_secrets,
    basic,
    call,
    config_value,
    identity_deployment,
    ocis_ok,
    service_call,
    token_for,
)

Reply = tuple[int, http.client.HTTPMessage, bytes]


@pytest.fixture(scope="module")
def rt() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        dep.env.update(
            PROXY_TLS="false",
            PROXY_ROUTES="/private/=hello",  # a protected route served by hello (which has no page there: 404)
            PROXY_TRUSTED_PROXIES="127.0.0.0/8",  # lets tests pose as clients from other addresses
            AUTH_BASIC_THROTTLE_FREE_ATTEMPTS="2",
            AUTH_BASIC_THROTTLE_BASE_DELAY="50ms",
            AUTH_BASIC_USER_IP_LOCKOUT="4",
            AUTH_BASIC_IP_LOCKOUT="6",
        )
        dep.start_runtime(IDENTITY + ",hello,proxy")
        wait_until(lambda: send(dep, "GET", "/hello/")[0] == 200, what="hello routed by the proxy")
        add_user(dep, "alice", "alice-secret")
        yield dep


def send(
    dep: Deployment, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None, ip: str = ""
) -> Reply:
    headers = dict(headers or {})
    if ip:
        headers["X-Forwarded-For"] = ip
    conn = http.client.HTTPConnection(dep.addr("proxy", "http_addr"), timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def greet(dep: Deployment, headers: dict[str, str], body: Any = None, ip: str = "") -> Reply:
    return send(dep, "POST", "/api/v0/greet", {"Content-Type": "application/json", **headers}, body or {}, ip)


def challenges(reply: Reply) -> list[str]:
    return reply[1].get_all("WWW-Authenticate") or []


def test_public_routes_need_no_credentials(rt: Deployment) -> None:
    assert send(rt, "GET", "/hello/")[0] == 200
    assert greet(rt, {}, {"name": "Ada"})[2] == b'{"message": "Hello Ada"}'


def test_identity_arrives_end_to_end(rt: Deployment) -> None:
    status, _, body = greet(rt, {"Authorization": basic("alice", "alice-secret")})
    assert (status, json.loads(body)) == (200, {"message": "Hello alice"})


def test_wrong_or_malformed_credentials_are_401_on_every_route(rt: Deployment) -> None:
    for auth in (basic("alice", "wrong"), "Basic !!!not-base64", "Basic " + "bm9jb2xvbg==", "Digest x=1", "Bearer "):
        for path in ("/hello/", "/private/x"):
            reply = send(rt, "GET", path, {"Authorization": auth}, ip="192.0.2.1")
            assert reply[0] == 401, (auth, path, reply)
    assert greet(rt, {"Authorization": basic("nobody", "x")}, ip="192.0.2.2")[0] == 401


def test_protected_route_challenges_and_xhr_gets_no_basic_dialog(rt: Deployment) -> None:
    reply = send(rt, "GET", "/private/x")
    assert reply[0] == 401
    assert challenges(reply) == ['Basic realm="ocisd", charset="UTF-8"', 'Bearer realm="ocisd"']
    xhr = send(rt, "GET", "/private/x", {"X-Requested-With": "XMLHttpRequest"})
    assert xhr[0] == 401 and challenges(xhr) == ['Bearer realm="ocisd"']
    # Authenticated, the request passes the proxy and hello's own token check (hello has no page there).
    assert send(rt, "GET", "/private/x", {"Authorization": basic("alice", "alice-secret")})[0] == 404


def test_disabled_user_gets_401_even_right_after_a_cached_login(rt: Deployment) -> None:
    add_user(rt, "bob", "bob-secret")
    auth = {"Authorization": basic("bob", "bob-secret")}
    assert send(rt, "GET", "/private/x", auth)[0] == 404
    ocis_ok(rt, "users", "disable", "bob")
    # Far sooner than the 10 s cache lifetime: the users extension's change event empties the caches.
    wait_until(lambda: send(rt, "GET", "/private/x", auth)[0] == 401, timeout=2, what="disabled bob refused")
    assert greet(rt, auth)[0] == 401


def test_client_cannot_forge_the_internal_token(rt: Deployment) -> None:
    admin = identity.Identity(user_id=config_value(rt, "admin_user_id"), username="admin")
    forged = identity.mint(config_value(rt, "jwt_secret"), admin)  # even a genuine token is stripped
    status, _, body = greet(rt, {identity.HTTP_HEADER: forged})
    assert status == 400 and b"admin" not in body
    assert send(rt, "GET", "/private/x", {identity.HTTP_HEADER: forged})[0] == 401


def test_throttling_locks_the_guessing_address_not_the_user(rt: Deployment) -> None:
    add_user(rt, "mallory", "mallory-secret")
    attacker = "203.0.113.1"
    statuses = [
        send(rt, "GET", "/private/x", {"Authorization": basic("mallory", f"guess{i}")}, ip=attacker)[0]
        for i in range(6)
    ]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]
    locked = send(rt, "GET", "/private/x", {"Authorization": basic("mallory", "guess9")}, ip=attacker)
    assert locked[0] == 429 and 0 < int(locked[1]["Retry-After"]) <= 300
    # The owner, from another address, gets in at once: nobody can lock a user out.
    assert (
        send(rt, "GET", "/private/x", {"Authorization": basic("mallory", "mallory-secret")}, ip="203.0.113.50")[0]
        == 404
    )
    # Another user from the attacker's address is under the address limit (only checked failures count).
    assert send(rt, "GET", "/private/x", {"Authorization": basic("alice", "alice-secret")}, ip=attacker)[0] == 404


def test_throttling_per_client_ip(rt: Deployment) -> None:
    spray = [
        send(rt, "GET", "/hello/", {"Authorization": basic(f"user{i}", "guess")}, ip="198.51.100.7")[0]
        for i in range(7)
    ]
    assert spray[:6] == [401] * 6 and spray[6] == 429
    assert (
        send(rt, "GET", "/hello/", {"Authorization": basic("alice", "x" + "alice-secret")}, ip="198.51.100.7")[0] == 429
    )
    assert send(rt, "GET", "/hello/", {"Authorization": basic("alice", "alice-secret")}, ip="198.51.100.8")[0] == 200


def test_authenticate_answers_extensions_only(rt: Deployment) -> None:
    """The credential checks need a service token: a bare call or a user's token cannot pick a client IP."""
    admin = identity.Identity(user_id=config_value(rt, "admin_user_id"), username="admin")
    machine = auth_pb2.MachineRequest(api_key=config_value(rt, "machine_auth_api_key"), username="admin")
    checks = {
        "auth-basic": (auth_pb2_grpc.AuthBasicStub, auth_pb2.BasicRequest(username="admin", password=ADMIN_PASSWORD)),
        "auth-bearer": (auth_pb2_grpc.AuthBearerStub, auth_pb2.BearerRequest(token="whatever")),
        "auth-machine": (auth_pb2_grpc.AuthMachineStub, machine),
    }
    for ext, (stub, request) in checks.items():
        for token in ("", token_for(rt, admin)):
            with pytest.raises(grpc.RpcError) as err:
                call(rt, ext, stub, "Authenticate", request, token)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, (ext, bool(token))
    assert service_call(rt, "auth-machine", auth_pb2_grpc.AuthMachineStub, "Authenticate", machine).user.username == (
        "admin"
    )


def test_missing_client_ip_is_a_throttled_bucket_of_its_own(rt: Deployment) -> None:
    add_user(rt, "nina", "nina-secret")

    def login(password: str, ip: str = "") -> grpc.RpcError | None:
        request = auth_pb2.BasicRequest(username="nina", password=password, client_ip=ip)
        try:
            service_call(rt, "auth-basic", auth_pb2_grpc.AuthBasicStub, "Authenticate", request)
        except grpc.RpcError as exc:
            return exc
        return None

    codes = [getattr(login(f"guess{i}"), "code", lambda: None)() for i in range(5)]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 4 + [grpc.StatusCode.RESOURCE_EXHAUSTED]
    throttled = login("nina-secret")  # no address: throttled like any other, even the right password
    assert throttled is not None and throttled.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert int(dict(throttled.trailing_metadata() or ())["retry-after"]) > 0
    assert login("nina-secret", ip="192.0.2.61") is None  # a real address is its own bucket


def test_bearer_app_token_until_revoked_and_bad_jwts(rt: Deployment) -> None:
    created = json.loads(ocis_ok(rt, "users", "token", "create", "alice", "--json"))
    auth = {"Authorization": f"Bearer {created['token']}"}
    status, _, body = greet(rt, auth)
    assert (status, json.loads(body)) == (200, {"message": "Hello alice"})
    ocis_ok(rt, "users", "token", "revoke", created["id"])
    wait_until(lambda: greet(rt, auth)[0] == 401, timeout=2, what="revoked app token refused")
    unsigned = jwt.encode({"preferred_username": "alice", "iss": "x", "aud": "ocisd"}, None, algorithm="none")
    reply = send(rt, "GET", "/hello/", {"Authorization": f"Bearer {unsigned}"})
    assert reply[0] == 401 and 'Bearer realm="ocisd", error="invalid_token"' in challenges(reply)


def test_no_secret_in_any_log(rt: Deployment) -> None:
    secrets = [ADMIN_PASSWORD, "alice-secret", "bob-secret", "mallory-secret"]
    secrets += [config_value(rt, k) for k in ("jwt_secret", "machine_auth_api_key")]
    assert_no_secrets(rt, secrets)
