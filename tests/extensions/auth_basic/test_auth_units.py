"""Small rules of the identity code, checked without processes: throttling, names, public paths."""

from __future__ import annotations

import pytest

from extensions.proxy.authn import PUBLIC_ROUTES, matches_public
from ocisd.api.identity.v1.contract import InvalidName, key, validate
from ocisd.throttle import NO_ADDRESS, LoginThrottle, Throttle, Verdict, address_key, combine


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


def test_login_throttle_counts_pairs_and_addresses_never_a_subject_alone() -> None:
    clock = Clock()
    pair = Throttle(free=2, base_delay=0.5, max_delay=1.5, lockout=4, cooldown=60, clock=clock)
    t = LoginThrottle(pair, Throttle(free=6, base_delay=0.5, max_delay=1.5, lockout=6, cooldown=60, clock=clock))
    for _ in range(4):
        t.failed("admin", "192.0.2.1")
    assert t.verdict("admin", "192.0.2.1").retry_after == 60
    assert t.verdict("admin", "192.0.2.2") == Verdict()  # the owner elsewhere is not locked out
    assert t.verdict("alice", "192.0.2.1") == Verdict()  # the address has 2 failures left
    t.failed("bob", "192.0.2.1")
    t.failed("carol", "192.0.2.1")
    assert t.verdict("alice", "192.0.2.1").retry_after == 60  # a spray over names locks the address
    t.succeeded("admin", "192.0.2.1")
    assert t.verdict("dave", "192.0.2.1").retry_after == 60  # a valid login does not reset the address
    for _ in range(4):
        t.failed("admin", "")
    assert t.verdict("admin", "not-an-ip").retry_after == 60  # no address is a bucket of its own


def test_address_buckets() -> None:
    assert address_key("") == address_key("garbage") == NO_ADDRESS
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")


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
