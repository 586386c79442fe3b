"""auth-bearer: issuer JWTs (a static PEM key and a JWKS URL) and personal app tokens, called directly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc
from tests.support.harness import Deployment, free_port, wait_until
from tests.support.identity import (
    IDENTITY,
    add_user,
    assert_no_secrets,
    identity_deployment,
    ocis_ok,
    service_call,
)

ISSUER = "https://idp.example.test"
AUDIENCE = "ocisd-web"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_PEM = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Jwks:
    """A real HTTP server on loopback serving the issuer's JWKS (the EC key, with a kid)."""

    def __init__(self) -> None:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def rt() -> Iterator[Deployment]:
    jwks = Jwks()
    try:
        with identity_deployment() as dep:
            pem = dep.root / "idp.pem"
            pem.write_bytes(RSA_PEM)
            dep.env.update(
                AUTH_BEARER_ISSUERS=ISSUER,
                AUTH_BEARER_AUDIENCES=AUDIENCE,
                AUTH_BEARER_STATIC_KEYS=str(pem),
                AUTH_BEARER_JWKS_URLS=jwks.url,
                AUTH_BEARER_LEEWAY="0s",
            )
            dep.start_runtime(IDENTITY)
            add_user(dep, "alice", "alice-secret")
            yield dep
    finally:
        jwks.close()


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "preferred_username": "alice", **over}


def rs256(**over: Any) -> str:
    return jwt.encode(claims(**over), RSA_KEY, algorithm="RS256")


def authenticate(dep: Deployment, token: str) -> auth_pb2.AuthResponse:
    return service_call(
        dep, "auth-bearer", auth_pb2_grpc.AuthBearerStub, "Authenticate", auth_pb2.BearerRequest(token=token)
    )


def refused(dep: Deployment, token: str) -> bool:
    with pytest.raises(grpc.RpcError) as err:
        authenticate(dep, token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, err.value
    return True


def test_valid_jwts_from_a_static_key_and_from_jwks(rt: Deployment) -> None:
    assert authenticate(rt, rs256()).user.username == "alice"
    es = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    assert authenticate(rt, es).user.username == "alice"


def test_tampered_expired_early_foreign_and_unknown_tokens_are_refused(rt: Deployment) -> None:
    header, payload, signature = rs256().split(".")
    forged = _b64(json.dumps(claims(preferred_username="admin")).encode())
    assert refused(rt, f"{header}.{forged}.{signature}")
    assert refused(rt, rs256(exp=int(time.time()) - 60))
    assert refused(rt, rs256(nbf=int(time.time()) + 600))
    assert refused(rt, rs256(aud="someone-else"))
    assert refused(rt, rs256(iss="https://evil.example.test"))
    assert refused(rt, rs256(preferred_username="nobody"))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(rt, jwt.encode(claims(), other_key, algorithm="RS256"))
    assert refused(rt, "not-a-jwt.at.all")


def test_alg_none_and_algorithm_confusion_are_refused(rt: Deployment) -> None:
    assert refused(rt, jwt.encode(claims(), None, algorithm="none"))
    # HS256 "signed" with the issuer's public key text as the HMAC secret.
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims()).encode())
    mac = hmac.new(RSA_PEM, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert refused(rt, f"{head}.{body}.{_b64(mac)}")
    # A valid ES256 signature under a header naming another algorithm for the same key.
    _, payload, signature = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"}).split(".")
    for alg in ("RS256", "ES384", "HS256"):
        head = _b64(json.dumps({"alg": alg, "kid": "ec-1", "typ": "JWT"}).encode())
        assert refused(rt, f"{head}.{payload}.{signature}")


def test_disabled_user_is_refused(rt: Deployment) -> None:
    add_user(rt, "bob", "bob-secret")
    assert authenticate(rt, rs256(preferred_username="bob")).user.username == "bob"
    ocis_ok(rt, "users", "disable", "bob")
    assert refused(rt, rs256(preferred_username="bob"))


def test_app_token_works_until_revoked_or_expired(rt: Deployment) -> None:
    created = json.loads(ocis_ok(rt, "users", "token", "create", "alice", "--label", "laptop", "--json"))
    assert authenticate(rt, created["token"]).user.username == "alice"
    listed = json.loads(ocis_ok(rt, "users", "token", "list", "alice", "--json"))
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    ocis_ok(rt, "users", "token", "revoke", created["id"])
    assert refused(rt, created["token"])

    short = json.loads(ocis_ok(rt, "users", "token", "create", "alice", "--expires", "1s", "--json"))
    assert authenticate(rt, short["token"]).user.username == "alice"
    wait_until(lambda: refused_quietly(rt, short["token"]), timeout=5, what="app token expiry")
    assert refused(rt, short["token"][:-2] + "xx")
    assert_no_secrets(rt, ["alice-secret", "bob-secret", created["token"], short["token"]])


def refused_quietly(dep: Deployment, token: str) -> bool:
    try:
        authenticate(dep, token)
    except grpc.RpcError as exc:
        return exc.code() == grpc.StatusCode.UNAUTHENTICATED
    return False
