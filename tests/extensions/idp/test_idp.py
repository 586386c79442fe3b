"""idp through the proxy: discovery, code + PKCE with authlib's client, userinfo, Bearer on WebDAV and OCS,
refresh rotation and reuse, logout and user changes revoking refresh tokens, refused tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from html import unescape
from typing import Any

import jwt as pyjwt
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from extensions.idp.clients import DESKTOP_ID, DESKTOP_SECRET
from extensions.idp.login import COOKIE
from ocisd import client_address
from tests.clients.test_chromium import ARGS as CHROMIUM_ARGS
from tests.extensions.idp.oidc import HIDDEN, Stack, authorize_url, idp_stack, login_form, post_login, sign_in
from tests.support import tools
from tests.support.harness import wait_until
from tests.support.identity import ADMIN_PASSWORD, add_user, ocis_ok

WEBDAV = "/remote.php/dav/files/{user}/"
OCS = "/ocs/v2.php/cloud/user/signing-key?format=json"
EXTRA_CLIENT = '[{"id": "extra", "redirect_uris": ["https://app.example/cb"], "name": "Extra"}]'
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    env = {"AUTH_BASIC_USER_IP_LOCKOUT": "4", "AUTH_BASIC_THROTTLE_MAX_DELAY": "0.2", "IDP_CLIENTS": EXTRA_CLIENT}
    with idp_stack(env=env) as s:
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


def test_disabling_a_user_revokes_its_refresh_tokens_and_sessions(stack: Stack) -> None:
    dora = add_user(stack.dep, "dora", "dora-pw-1")
    browser = requests.Session()
    _, token = sign_in(stack, "dora", "dora-pw-1", browser=browser)
    runtime = stack.dep.procs[0]
    ocis_ok(stack.dep, "users", "disable", "dora")
    wait_until(
        lambda: any("refresh tokens revoked" in line and dora in line for line in runtime.output().splitlines()),
        what="idp acting on users.changed",
    )
    # Enabled again, dora must sign in again: the event revoked her tokens and sessions for good.
    ocis_ok(stack.dep, "users", "enable", "dora")
    assert refresh(stack, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert "error=login_required" in silent(stack, browser).headers["Location"]
    _, token = sign_in(stack, "dora", "dora-pw-1")
    ocis_ok(stack.dep, "users", "delete", "dora")
    assert refresh(stack, token["refresh_token"]).json()["error"] == "invalid_grant"  # event or refresh's own check


def silent(stack: Stack, browser: requests.Session) -> requests.Response:
    """An authorization request with prompt=none (what ownCloud Web's silent renew sends)."""
    url, _ = authorize_url(stack, stack.session(), "s" * 50, prompt="none")
    return browser.get(url, verify=False, timeout=30, allow_redirects=False)


def test_a_signed_in_browser_gets_codes_without_the_form_until_it_signs_out(stack: Stack) -> None:
    browser = requests.Session()
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD, browser=browser)
    client = stack.session()
    url, state = authorize_url(stack, client, "v" * 60, prompt="none")
    again = browser.get(url, verify=False, timeout=30, allow_redirects=False)
    assert again.status_code == 302 and f"state={state}" in again.headers["Location"]
    renewed = client.fetch_token(
        stack.url + "/konnect/v1/token", authorization_response=again.headers["Location"], code_verifier="v" * 60
    )
    assert bearer(stack, WEBDAV.format(user="admin"), renewed["access_token"], "PROPFIND") == 207
    assert "error=login_required" in silent(stack, requests.Session()).headers["Location"]  # another browser
    end = stack.url + "/signin/v1/identifier/_/endsession"
    assert browser.get(end, params={"id_token_hint": token["id_token"]}, verify=False).status_code == 200
    assert "error=login_required" in silent(stack, browser).headers["Location"]


def _signed(stack: Stack, claims: dict[str, Any], key: RSAKey | None = None) -> str:
    """A token signed with idp's own current key (read from its data dir), or with `key`."""
    if key is None:
        keys = json.loads((stack.dep.data_dir / "idp" / "keys.json").read_text())["keys"]
        key = RSAKey.import_key(keys[-1]["jwk"])
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def test_tampered_foreign_expired_and_unsigned_tokens_get_401(stack: Stack) -> None:
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    good = token["access_token"]
    claims = jwt.decode(good, RSAKey.import_key(stack.get("/konnect/v1/jwks.json").json()["keys"][-1])).claims
    head, body, sig = good.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged_body = base64.urlsafe_b64encode(json.dumps({**payload, "preferred_username": "x"}).encode()).rstrip(b"=")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    now = int(time.time())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"})
    refused = {
        "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "tampered claims": f"{head}.{forged_body.decode()}.{sig}",
        "alg none": f"{none_head}.{body}.",
        "foreign key": _signed(stack, claims, stranger),
        "foreign issuer": _signed(stack, {**claims, "iss": "https://evil.example"}),
        "expired": _signed(stack, {**claims, "iat": now - 4000, "exp": now - 3600}),
        "ID token audience": _signed(stack, {**claims, "aud": "web"}),
    }
    assert bearer(stack, WEBDAV.format(user="admin"), _signed(stack, claims), "PROPFIND") == 207  # the control
    for what, forged in refused.items():
        assert bearer(stack, WEBDAV.format(user="admin"), forged, "PROPFIND") == 401, what
        assert bearer(stack, OCS, forged) == 401, what


def test_the_login_form_refuses_unknown_redirects_missing_pkce_and_forged_posts(stack: Stack) -> None:
    authorize = stack.url + "/signin/v1/identifier/_/authorize"
    base = {"client_id": "web", "response_type": "code", "redirect_uri": stack.url + "/oidc-callback.html"}
    pkce = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
    evil = requests.get(authorize, params={**base, **pkce, "redirect_uri": "https://evil.example/"}, verify=False)
    assert evil.status_code == 400 and "Location" not in evil.headers
    extra = {**base, **pkce, "client_id": "extra", "redirect_uri": "https://app.example/cb"}
    assert "Extra" in requests.get(authorize, params=extra, verify=False).text  # a client from IDP_CLIENTS
    assert (
        requests.get(authorize, params={**extra, "redirect_uri": base["redirect_uri"]}, verify=False).status_code == 400
    )
    for params in ({**base}, {**base, "code_challenge": "abc", "code_challenge_method": "plain"}):
        answer = requests.get(authorize, params=params, verify=False, allow_redirects=False)
        assert answer.status_code == 302 and "error=invalid_request" in answer.headers["Location"]
    browser = requests.Session()
    fields = login_form(stack, requests.Request("GET", authorize, params={**base, **pkce}).prepare().url or "", browser)
    browser.cookies.clear()  # a post from another site carries no cookie
    answer = post_login(stack, browser, fields, "admin", ADMIN_PASSWORD)
    assert answer.status_code == 403 and "Location" not in answer.headers


def test_the_desktop_client_needs_its_secret_and_may_use_any_loopback_port(stack: Stack) -> None:
    desktop = stack.session(DESKTOP_ID, "http://127.0.0.1:43117", DESKTOP_SECRET)
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD, desktop)
    assert bearer(stack, WEBDAV.format(user="admin"), token["access_token"], "PROPFIND") == 207
    assert refresh(stack, token["refresh_token"], DESKTOP_ID).status_code == 401  # no secret


def test_wrong_passwords_are_throttled_with_a_clear_message(stack: Stack) -> None:
    add_user(stack.dep, "tess", "tess-pw-1")
    client = stack.session()
    url, _ = client.create_authorization_url(stack.url + "/signin/v1/identifier/_/authorize", code_verifier="v" * 50)
    browser = requests.Session()
    statuses = []
    for _ in range(8):
        answer = post_login(stack, browser, login_form(stack, url, browser), "tess", "wrong")
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
    assert "Too many failed sign-ins" in answer.text and answer.headers["Retry-After"].isdigit()
    # the right password is throttled too while the lockout lasts
    assert post_login(stack, browser, login_form(stack, url, browser), "tess", "tess-pw-1").status_code == 429


def test_rotate_keys_logs_nobody_out(stack: Stack) -> None:
    _, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    before = {k["kid"] for k in stack.get("/konnect/v1/jwks.json").json()["keys"]}
    ocis_ok(stack.dep, "idp", "rotate-keys")
    wait_until(
        lambda: len({k["kid"] for k in stack.get("/konnect/v1/jwks.json").json()["keys"]} - before) == 1,
        what="the new key published",
    )
    assert before <= {k["kid"] for k in stack.get("/konnect/v1/jwks.json").json()["keys"]}  # the old one stays
    assert bearer(stack, WEBDAV.format(user="admin"), token["access_token"], "PROPFIND") == 207
    renewed = refresh(stack, token["refresh_token"]).json()
    kid = jwt.decode(renewed["access_token"], _jwks(stack)).header["kid"]
    assert kid not in before
    assert bearer(stack, WEBDAV.format(user="admin"), renewed["access_token"], "PROPFIND") == 207


def _jwks(stack: Stack) -> KeySet:
    return KeySet.import_key_set(stack.get("/konnect/v1/jwks.json").json())


def test_chromium_fills_the_login_page(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    client = stack.session()
    url, state = client.create_authorization_url(
        stack.url + "/signin/v1/identifier/_/authorize", code_verifier="c" * 64
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=tools.require("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(url)
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            with page.expect_request(lambda r: "/oidc-callback.html?" in r.url) as request:
                page.click("#submit")
            location = request.value.url
        finally:
            browser.close()
    token = client.fetch_token(stack.url + "/konnect/v1/token", authorization_response=location, code_verifier="c" * 64)
    assert f"state={state}" in location
    assert bearer(stack, WEBDAV.format(user="admin"), token["access_token"], "PROPFIND") == 207


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDP_DYNAMIC_REGISTRATION": "true"}, "idp.dynamic_registration"),
        ({"IDP_CLIENTS": '[{"id": "x"}]'}, "needs a non-empty redirect_uris"),
        ({"IDP_SIGNING_ALG": "HS256"}, "idp.signing_alg"),
    ],
)
def test_bad_settings_are_refused_before_start(stack: Stack, env: dict[str, str], message: str) -> None:
    res = stack.dep.ocis("idp", "server", env=env)
    assert res.returncode == 2 and message in res.stderr, res.stderr


def test_a_caller_at_idps_own_port_cannot_name_another_address(stack: Stack) -> None:
    """Only the proxy can say which address a sign-in comes from (a signed header): at idp's own port,
    forged X-Forwarded-For and X-Ocisd-Client-Ip headers change nothing, so every guess counts against the
    connection's own address and the lockout comes as through the proxy."""
    add_user(stack.dep, "vera", "vera-pw-1")
    direct = f"http://{stack.dep.addr('idp', 'http_addr')}"
    client = stack.session()
    url, _ = client.create_authorization_url(direct + "/signin/v1/identifier/_/authorize", code_verifier="v" * 50)
    forged = pyjwt.encode({"aud": client_address.AUDIENCE, "ip": "198.51.100.1"}, "not-the-secret", algorithm="HS256")
    statuses = []
    for i in range(8):
        page = requests.get(url, timeout=30)
        fields = {k: unescape(v) for k, v in HIDDEN.findall(page.text)}
        headers = {  # the form's cookie is Secure (the issuer is https): sent by hand over plain HTTP
            "Cookie": f"{COOKIE}={page.cookies[COOKIE]}",
            "X-Forwarded-For": f"203.0.113.{i}",
            client_address.HEADER: forged,
        }
        form = {**fields, "username": "vera", "password": "wrong"}
        answer = requests.post(url.split("?")[0], data=form, headers=headers, timeout=30, allow_redirects=False)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
