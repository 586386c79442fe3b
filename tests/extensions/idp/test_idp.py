"""idp through the proxy: discovery, code + PKCE with authlib's client, userinfo, Bearer on WebDAV and OCS,
refresh rotation and reuse, logout and user changes revoking refresh tokens, refused tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.extensions.idp.oidc import Stack, idp_stack, sign_in
from tests.support.harness import wait_until
from tests.support.identity import ADMIN_PASSWORD, add_user, ocis_ok

WEBDAV = "/remote.php/dav/files/{user}/"
OCS = "/ocs/v2.php/cloud/user/signing-key?format=json"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with idp_stack(env={"AUTH_BASIC_USER_IP_LOCKOUT": "4", "AUTH_BASIC_THROTTLE_MAX_DELAY": "0.2"}) as s:
        yield s


def bearer(stack: Stack, path: str, token: str, method: str = "GET") -> int:
    headers = {"Authorization": f"Bearer {token}", "Depth": "0"}
    return requests.request(method, stack.url + path, headers=headers, verify=False, timeout=30).status_code


def refresh(stack: Stack, refresh_token: str, client_id: str = "web") -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return requests.post(stack.url + "/konnect/v1/token", data=form, verify=False, timeout=30)


def test_discovery_names_ocis_paths_and_the_jwks_has_the_signing_key(stack: Stack) -> None:
    doc = stack.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == stack.url
    assert doc["authorization_endpoint"] == stack.url + "/signin/v1/identifier/_/authorize"
    assert doc["token_endpoint"] == stack.url + "/konnect/v1/token"
    assert doc["end_session_endpoint"] == stack.url + "/signin/v1/identifier/_/endsession"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    keys = stack.get("/konnect/v1/jwks.json").json()["keys"]
    assert keys and all(k["kty"] == "RSA" and "d" not in k for k in keys)
    key_file = stack.dep.data_dir / "idp" / "keys.json"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_code_flow_with_pkce_gives_tokens_that_work_on_webdav_ocs_and_userinfo(stack: Stack) -> None:
    client, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    claims = jwt.decode(token["id_token"], RSAKey.import_key(stack.get("/konnect/v1/jwks.json").json()["keys"][-1]))
    assert claims.claims["iss"] == stack.url and claims.claims["aud"] == "web"
    assert claims.claims["preferred_username"] == "admin" and claims.header["alg"] == "RS256"
    info = client.get(stack.url + "/konnect/v1/userinfo").json()
    assert info["preferred_username"] == "admin" and info["sub"] == claims.claims["sub"]
    assert bearer(stack, WEBDAV.format(user="admin"), token["access_token"], "PROPFIND") == 207
    assert bearer(stack, OCS, token["access_token"]) == 200
    assert bearer(stack, WEBDAV.format(user="admin"), token["id_token"], "PROPFIND") == 401  # not an access token


def test_refresh_rotates_and_reuse_revokes_the_sign_in(stack: Stack) -> None:
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    first = refresh(stack, token["refresh_token"])
    assert first.status_code == 200, first.text
    second = first.json()
    assert second["refresh_token"] != token["refresh_token"]
    assert bearer(stack, WEBDAV.format(user="admin"), second["access_token"], "PROPFIND") == 207
    replay = refresh(stack, token["refresh_token"])  # the old one is dead, and its reuse ends the sign-in
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh(stack, second["refresh_token"]).status_code == 400


def test_logout_revokes_the_refresh_token(stack: Stack) -> None:
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    params = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": stack.url + "/", "state": "s1"}
    answer = requests.get(
        stack.url + "/signin/v1/identifier/_/endsession", params=params, verify=False, allow_redirects=False
    )
    assert answer.status_code == 302 and answer.headers["Location"] == stack.url + "/?state=s1"
    assert refresh(stack, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_disabling_a_user_revokes_its_refresh_tokens(stack: Stack) -> None:
    add_user(stack.dep, "dora", "dora-pw-1")
    _, token = sign_in(stack, "dora", "dora-pw-1")
    assert refresh(stack, token["refresh_token"]).status_code == 200
    _, token = sign_in(stack, "dora", "dora-pw-1")
    ocis_ok(stack.dep, "users", "disable", "dora")
    current = token["refresh_token"]

    def revoked() -> bool:
        nonlocal current
        answer = refresh(stack, current)
        if answer.status_code == 200:  # the event is on its way: keep the sign-in alive meanwhile
            current = answer.json()["refresh_token"]
            return False
        return bool(answer.json()["error"] == "invalid_grant")

    wait_until(revoked, 15, what="dora's refresh token revoked")
