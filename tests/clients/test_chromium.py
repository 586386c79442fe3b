"""The hello page in a real browser (headless Debian chromium via playwright) over HTTPS through the proxy."""

from __future__ import annotations

from pathlib import Path

from tests.support import tools
from tests.support.harness import Deployment
from tests.support.proxy import wait_routed

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_hello_page_greets_in_chromium_through_the_proxy(dep: Deployment) -> None:
    from playwright.sync_api import expect, sync_playwright

    dep.start_runtime("bus,hello,proxy")
    proxy = dep.addr("proxy", "http_addr")
    wait_routed(proxy, "/hello/")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=tools.require("chromium"), args=ARGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            response = page.goto(f"https://{proxy}/hello/")
            assert response is not None and response.status == 200
            assert response.headers["strict-transport-security"].startswith("max-age=")
            page.fill("#name", "Ada Lovelace")
            page.click("#submit")
            expect(page.locator("#answer")).to_have_text("Hello Ada Lovelace", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "proxy-hello-chromium.png"))
        finally:
            browser.close()
