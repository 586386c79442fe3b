"""Driving idp as a client does: authlib's OAuth2 client over HTTPS through the proxy, the login form posted."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.harness import Deployment, deployment, wait_until
from tests.support.identity import FAST_ARGON2, QUICK_BUS

WEB = "web"
EXTENSIONS = "bus,users,groups,auth-basic,auth-bearer,idp,gateway,storage-users,ocdav,ocs,proxy"
SCOPE = "openid profile email offline_access"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # the proxy's certificate is self-signed
    os.environ.pop(_var, None)


@dataclass
class Stack:
    dep: Deployment
    url: str  # OCIS_URL: the proxy

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, verify=False, timeout=30, **kw)

    def session(self, client_id: str = WEB, redirect: str = "", secret: str | None = None) -> OAuth2Session:
        redirect = redirect or self.url + "/oidc-callback.html"
        s = OAuth2Session(client_id, secret, redirect_uri=redirect, scope=SCOPE, code_challenge_method="S256")
        s.verify = False
        return s


@contextmanager
def idp_stack(extensions: str = EXTENSIONS, env: dict[str, str] | None = None) -> Iterator[Stack]:
    with deployment() as dep:
        dep.env.update(FAST_ARGON2)
        dep.env.update(QUICK_BUS)
        url = f"https://{dep.addr('proxy', 'http_addr')}"
        dep.env["OCIS_URL"] = url
        dep.env.update(env or {})
        dep.start_runtime(extensions)
        stack = Stack(dep, url)
        wait_until(lambda: stack.get("/.well-known/openid-configuration").status_code == 200, what="idp routed")
        yield stack


def login_form(stack: Stack, authorize_url: str, browser: requests.Session) -> dict[str, str]:
    page = browser.get(authorize_url, verify=False, timeout=30)
    assert page.status_code == 200, page.text
    return {k: unescape(v) for k, v in HIDDEN.findall(page.text)}


def post_login(
    stack: Stack, browser: requests.Session, fields: dict[str, str], user: str, pw: str
) -> requests.Response:
    form = {**fields, "username": user, "password": pw}
    path = "/signin/v1/identifier/_/authorize"
    return browser.post(stack.url + path, data=form, verify=False, timeout=30, allow_redirects=False)


def authorize_url(stack: Stack, client: OAuth2Session, verifier: str, **extra: str) -> tuple[str, str]:
    """(URL, state) of an authorization request with PKCE S256 and a nonce."""
    endpoint = stack.url + "/signin/v1/identifier/_/authorize"
    url, state = client.create_authorization_url(
        endpoint, code_verifier=verifier, nonce="n-" + generate_token(8), **extra
    )
    return str(url), str(state)


def sign_in(
    stack: Stack, user: str, pw: str, client: OAuth2Session | None = None, browser: requests.Session | None = None
) -> tuple[OAuth2Session, dict[str, Any]]:
    """The whole code + PKCE flow: authorize, login form, code exchanged. Returns (client, token)."""
    client = client or stack.session()
    verifier = generate_token(48)
    url, state = authorize_url(stack, client, verifier)
    browser = browser or requests.Session()
    answer = post_login(stack, browser, login_form(stack, url, browser), user, pw)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    token = client.fetch_token(stack.url + "/konnect/v1/token", authorization_response=location, code_verifier=verifier)
    return client, dict(token)
