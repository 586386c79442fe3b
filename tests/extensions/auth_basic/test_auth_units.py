"""Small rules of the identity code, checked without processes: throttling, names, public paths."""

from __future__ import annotations

import pytest

from extensions.auth_basic.throttle import Throttle, Verdict, combine
from extensions.proxy.authn import PUBLIC_ROUTES, matches_public
from ocisd.api.identity.v1.contract import InvalidName, key, validate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_delays_exponentially_then_locks_out_for_the_cooldown() -> None:
    clock = Clock()
    t = Throttle(free=2, base_delay=0.5, max_delay=1.5, lockout=6, cooldown=60, clock=clock)
    delays = []
    for _ in range(6):
        delays.append(t.verdict("user:x"))
        t.failed("user:x")
    assert [v.delay for v in delays] == [0, 0, 0.5, 1.0, 1.5, 1.5]
    assert t.verdict("user:x").retry_after == 60
    clock.now += 59
    assert t.verdict("user:x").retry_after == pytest.approx(1)
    clock.now += 1
    assert t.verdict("user:x") == Verdict()  # forgotten after the cool-down
    t.failed("user:y")
    t.failed("user:y")
    t.succeeded("user:y")
    assert t.verdict("user:y") == Verdict()
    assert combine(Verdict(delay=1), Verdict(retry_after=5)) == Verdict(delay=1, retry_after=5)


def test_names_are_validated_and_compared_case_insensitively() -> None:
    assert validate("Ünïcode name") == "Ünïcode name"
    assert key("STRASSE") == key("straße") and key("Alice") == key("aLICE")
    for bad in ("", "a/b", "a\nb", "a\x7fb", "x" * 256, " lead", "trail "):
        with pytest.raises(InvalidName):
            validate(bad)


def test_public_paths() -> None:
    assert matches_public("/", PUBLIC_ROUTES) and matches_public("/status.php", PUBLIC_ROUTES)
    assert matches_public("/hello/static/app.js", PUBLIC_ROUTES) and matches_public("/api/v0/greet", PUBLIC_ROUTES)
    assert matches_public("/js/app.js", PUBLIC_ROUTES)
    for protected in ("/remote.php/webdav/", "/dav/files/alice", "/status.php/x", "/hello-world", "/api/v0/greeting"):
        assert not matches_public(protected, PUBLIC_ROUTES), protected
