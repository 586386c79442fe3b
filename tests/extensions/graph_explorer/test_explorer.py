"""graph-explorer: its page, config and Content-Security-Policy through the proxy, in headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support import tools
from tests.support.harness import Deployment, deployment, free_port
from tests.support.proxy import request, wait_routed

PAGE = "/graph-explorer/"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def site() -> Iterator[Deployment]:
    """graph-explorer behind the proxy, with OCIS_URL the proxy's address (as idp's issuer will be)."""
    with deployment() as dep:
        proxy = dep.addr("proxy", "http_addr")
        dep.env["OCIS_URL"] = f"https://{proxy}"
        dep.start_runtime("bus,graph-explorer,proxy")
        wait_routed(proxy, PAGE)
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


def test_client_id_and_issuer_are_config(site: Deployment) -> None:
    """GRAPH_EXPLORER_CLIENT_ID and GRAPH_EXPLORER_ISSUER reach the page's config and its policy."""
    http = f"127.0.0.1:{free_port()}"
    env = {
        "GRAPH_EXPLORER_HTTP_ADDR": http,
        "GRAPH_EXPLORER_DEBUG_ADDR": f"127.0.0.1:{free_port()}",
        "GRAPH_EXPLORER_CLIENT_ID": "my-explorer",
        "GRAPH_EXPLORER_ISSUER": "https://sso.example.org/realms/x",
    }
    proc = site.start_extension("graph-explorer", env=env)
    config = json.loads(request(http, "GET", f"{PAGE}config.json", tls=False)[2])
    assert (config["client_id"], config["issuer"]) == ("my-explorer", "https://sso.example.org/realms/x")
    policy = request(http, "GET", PAGE, tls=False)[1]["content-security-policy"]
    assert "connect-src 'self' https://sso.example.org;" in policy
    assert proc.stop() == 0


def test_page_runs_under_its_policy_in_chromium(site: Deployment) -> None:
    from playwright.sync_api import expect, sync_playwright

    proxy = site.addr("proxy", "http_addr")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=tools.require("chromium"), args=ARGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            response = page.goto(f"https://{proxy}{PAGE}")
            assert response is not None and response.status == 200
            # No idp in this deployment: the script ran, fetched its config and reports the missing discovery.
            expect(page.locator("#session")).to_contain_text("openid-configuration", timeout=30_000)
            expect(page.locator("#sign-in")).to_be_hidden()
            assert violations == []
        finally:
            browser.close()
