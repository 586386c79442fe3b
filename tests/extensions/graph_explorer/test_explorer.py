"""graph-explorer through the proxy: its page, config and Content-Security-Policy, and in headless
Chromium the whole sign-in with idp (code flow, PKCE) followed by Graph requests with the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import tools
from tests.support.harness import Deployment, free_port
from tests.support.identity import add_user, identity_deployment
from tests.support.proxy import request, wait_routed

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PAGE = "/graph-explorer/"
RUN = "bus,users,groups,auth-basic,auth-bearer,idp,graph,graph-explorer,proxy"
USER, PASSWORD = "einstein", "einstein-pw-1"
TOKENS = "graph-explorer.tokens"  # the page's sessionStorage key
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def site() -> Iterator[Deployment]:
    """graph-explorer, idp and graph behind the proxy; OCIS_URL is the proxy's address (idp's issuer)."""
    with identity_deployment() as dep:
        proxy = dep.addr("proxy", "http_addr")
        dep.env["OCIS_URL"] = f"https://{proxy}"
        dep.start_runtime(RUN, env={"PROXY_ACCESS_LOG": "false"})
        add_user(dep, USER, PASSWORD)
        wait_routed(proxy, PAGE)
        wait_routed(proxy, "/.well-known/openid-configuration")
        yield dep


def test_page_is_public_with_a_strict_policy(site: Deployment) -> None:
    proxy = site.addr("proxy", "http_addr")
    status, headers, body = request(proxy, "GET", PAGE)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<script src="/graph-explorer/static/explorer.js">' in body
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert f"connect-src 'self' https://{proxy};" in policy and "'unsafe-inline'" not in policy
    assert headers["referrer-policy"] == "no-referrer"  # the sign-in answer puts its code in the URL
    assert request(proxy, "GET", "/graph-explorer")[0] == 301
    for asset in ("explorer.js", "explorer.css"):
        assert request(proxy, "GET", f"{PAGE}static/{asset}")[0] == 200


def test_config_names_issuer_client_and_redirect(site: Deployment) -> None:
    proxy = site.addr("proxy", "http_addr")
    status, _, body = request(proxy, "GET", f"{PAGE}config.json")
    config = json.loads(body)
    assert status == 200 and config["client_id"] == "ocis-explorer.js"
    assert config["issuer"] == config["url"] == f"https://{proxy}"
    assert config["redirect_uri"] == f"https://{proxy}{PAGE}"
    assert "openid" in config["scope"].split()


def test_sign_in_with_idp_and_explore_graph_in_chromium(site: Deployment) -> None:
    from playwright.sync_api import expect, sync_playwright

    proxy = site.addr("proxy", "http_addr")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=tools.require("chromium"), args=ARGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"https://{proxy}{PAGE}")
            page.wait_for_url("**/signin/v1/identifier/_/authorize?*")  # sent to idp's login page
            assert "code_challenge_method=S256" in page.url and "client_id=ocis-explorer.js" in page.url
            page.fill("#username", USER)
            page.fill("#password", PASSWORD)
            page.click("#submit")
            expect(page.locator("#session")).to_have_text(f"Signed in as {USER}", timeout=30_000)
            assert page.url == f"https://{proxy}{PAGE}"  # the code left the address bar and the history

            _send(page, "GET", "/graph/v1.0/me")
            expect(page.locator("#status")).to_have_text("200 OK", timeout=30_000)
            me = json.loads(page.locator("#answer").inner_text())
            assert me["onPremisesSamAccountName"] == USER
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "graph-explorer-chromium.png"))

            # An expired access token is refreshed first; the refresh token rotates.
            before = _tokens(page)
            _expire(page, before)
            page.select_option("#preset", "/graph/v1.0/me/drives")  # a common request: sent at once
            expect(page.locator("#status")).not_to_have_text("…", timeout=30_000)
            after = _tokens(page)
            assert after["refresh"] != before["refresh"] and after["access"] != before["access"]
            assert page.locator("#path").input_value() == "/graph/v1.0/me/drives"

            # The token goes to Graph only, and a body must be JSON: neither is sent.
            _send(page, "GET", "/remote.php/dav/files/einstein/")
            expect(page.locator("#answer")).to_contain_text("must start with /graph/")
            _send(page, "PATCH", "/graph/v1.0/me", "{not json")
            expect(page.locator("#status")).to_have_text("(not sent)")

            page.click("#sign-out")  # idp revokes the refresh token and sends the browser back
            expect(page.locator("#session")).to_have_text("Signed out", timeout=30_000)
            expect(page.locator("#sign-in")).to_be_visible()
            assert _tokens(page) is None
            refused = request(
                proxy,
                "POST",
                "/konnect/v1/token",
                f"grant_type=refresh_token&client_id=ocis-explorer.js&refresh_token={after['refresh']}".encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert refused[0] == 400 and json.loads(refused[2])["error"] == "invalid_grant"

            # A refresh token the idp refuses (revoked): the page drops its tokens and offers a new sign-in.
            _expire(page, after)
            page.reload()
            expect(page.locator("#session")).to_have_text(f"Signed in as {USER}", timeout=30_000)
            page.click("#send")
            expect(page.locator("#session")).to_contain_text("sign in again", timeout=30_000)
            expect(page.locator("#sign-in")).to_be_visible()
            assert _tokens(page) is None
            assert violations == []
        finally:
            browser.close()


def test_client_id_and_issuer_are_config(site: Deployment) -> None:
    """GRAPH_EXPLORER_CLIENT_ID and GRAPH_EXPLORER_ISSUER reach the page's config and its policy.

    Last in the module: this second instance shares the proxy's route while it runs."""
    http = f"127.0.0.1:{free_port()}"
    env = {
        "GRAPH_EXPLORER_HTTP_ADDR": http,
        "GRAPH_EXPLORER_DEBUG_ADDR": f"127.0.0.1:{free_port()}",
        "GRAPH_EXPLORER_CLIENT_ID": "my-explorer",
        "GRAPH_EXPLORER_ISSUER": "https://sso.example.org/realms/x",
    }
    proc = site.start_extension("graph-explorer", env=env)
    try:
        config = json.loads(request(http, "GET", f"{PAGE}config.json", tls=False)[2])
        assert (config["client_id"], config["issuer"]) == ("my-explorer", "https://sso.example.org/realms/x")
        policy = request(http, "GET", PAGE, tls=False)[1]["content-security-policy"]
        assert "connect-src 'self' https://sso.example.org;" in policy
    finally:
        assert proc.stop() == 0


def _send(page: Any, method: str, path: str, body: str = "") -> None:
    page.select_option("#method", method)
    page.fill("#path", path)
    page.fill("#body", body)
    page.click("#send")


def _expire(page: Any, tokens: dict[str, Any]) -> None:
    """Put `tokens` in the page's sessionStorage with its access token expired."""
    page.evaluate(f"sessionStorage.setItem('{TOKENS}', {json.dumps(json.dumps({**tokens, 'expires': 0}))})")


def _tokens(page: Any) -> Any:
    return page.evaluate(f"JSON.parse(sessionStorage.getItem('{TOKENS}'))")
