"""Nobody can lock the admin out: 30 wrong passwords from one address throttle that address only."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator

import pytest

from tests.support import webdav_stack
from tests.support.harness import deployment
from tests.support.webdav_stack import ADMIN, PASSWORD, DavStack


@pytest.fixture(scope="module")
def dav() -> Iterator[DavStack]:
    with deployment() as dep:
        # The proxy believes X-Forwarded-For from the test client only; short delays keep 30 guesses quick.
        env = {
            "PROXY_TLS": "false",
            "PROXY_TRUSTED_PROXIES": "127.0.0.1/32",
            "AUTH_BASIC_THROTTLE_BASE_DELAY": "10ms",
            "AUTH_BASIC_THROTTLE_MAX_DELAY": "20ms",
        }
        yield webdav_stack.start(dep, env, proxied=True)


def propfind(dav: DavStack, password: str, ip: str) -> webdav_stack.Reply:
    auth = "Basic " + b64encode(f"{ADMIN}:{password}".encode()).decode()
    headers = {"Authorization": auth, "X-Forwarded-For": ip, "Depth": "0"}
    return dav.request("PROPFIND", "", b"", headers, auth=False)


def test_thirty_wrong_passwords_do_not_lock_the_admin_out(dav: DavStack) -> None:
    attacker, owner = "203.0.113.7", "198.51.100.20"
    statuses = [propfind(dav, f"guess-{i}", attacker).status for i in range(30)]
    assert statuses == [401] * 10 + [429] * 20  # AUTH_BASIC_USER_IP_LOCKOUT, default 10
    throttled = propfind(dav, "guess-31", attacker)
    assert throttled.status == 429 and 0 < int(throttled.headers["Retry-After"]) <= 300
    assert propfind(dav, PASSWORD, owner).status == 207
