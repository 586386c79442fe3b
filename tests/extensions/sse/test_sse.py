"""Live notifications through the HTTPS proxy: `ocis server` with the file stack, sse as its own process.

Each event reaches the streams of its recipients only; a reconnect with
Last-Event-ID gets what it missed and nothing twice; idle streams carry
keepalive comments past the proxy's upstream timeout; a SIGKILLed sse is
reconnected to; malformed bus events are dropped with a log line.
"""

from __future__ import annotations

import json
import signal
import uuid
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from ocisd import identity
from tests.support import sets, webdav_stack
from tests.support.harness import Deployment, Proc, deployment, metric_value, wait_until
from tests.support.identity import add_user

from .publisher import Publisher
from .stream_client import EventStream

PATH = "/ocs/v2.php/apps/notifications/api/v1/notifications/sse"
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
PW = "sse-user-pw-for-tests"
KEEPALIVE = "0.25s"
# Far below the keepalive-fed streams' life in these tests: a proxy cutting idle upstreams would show.
UPSTREAM_TIMEOUT = "1s"
SSE_ENV = {
    "SSE_KEEPALIVE": KEEPALIVE,
    "SSE_MAX_STREAMS": "2",
    "OCIS_HEARTBEAT_INTERVAL": "0.2",
    "OCIS_DRAIN_TIMEOUT": "0.2",
}


@dataclass
class Stack:
    dep: Deployment
    sse: Proc
    bus: Publisher
    users: dict[str, str]  # name -> user id

    def auth(self, name: str) -> dict[str, str]:
        password = webdav_stack.PASSWORD if name == "admin" else PW
        return {"Authorization": "Basic " + b64encode(f"{name}:{password}".encode()).decode()}

    def stream(self, name: str, last_id: str | None = None) -> EventStream:
        headers = self.auth(name) | ({"Last-Event-ID": last_id} if last_id is not None else {})
        return EventStream(self.dep.addr("proxy", "http_addr"), PATH, headers)

    def restart_sse(self) -> None:
        self.sse = self.dep.start_extension("sse", env=SSE_ENV)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with deployment() as dep:
        env = {"PROXY_ACCESS_LOG": "false", "PROXY_UPSTREAM_TIMEOUT": UPSTREAM_TIMEOUT}
        dep.start_runtime(sets.join(sets.SHARES, "ocs"), env=env)
        sse = dep.start_extension("sse", env=SSE_ENV)
        webdav_stack.connect(dep, True)
        users = {"admin": webdav_stack.secrets(dep)["admin_user_id"]}
        for name in ("bob", "carol"):
            users[name] = add_user(dep, name, PW)
        bus = Publisher(dep)
        try:
            yield Stack(dep, sse, bus, users)
        finally:
            bus.close()


def ready_event(stack: Stack, *names: str, event: str = "file-ready") -> dict[str, Any]:
    data = {
        "event_id": uuid.uuid4().hex,
        "time": 1.5,
        "resource_id": "space!node",
        "space_id": "space",
        "path": "/a.txt",
        "recipients": [stack.users[n] for n in names],
    }
    stack.bus.publish(event, data)
    return data


@contextmanager
def streams(stack: Stack, *names: str) -> Iterator[list[EventStream]]:
    opened = [stack.stream(n) for n in names]
    try:
        yield opened
    finally:
        for s in opened:
            s.close()


def keepalives_pass(stream: EventStream, count: int) -> None:
    """`count` more keepalives arrive on `stream`, which stays open meanwhile."""
    seen = stream.comments.count("keepalive")
    wait_until(lambda: stream.comments.count("keepalive") >= seen + count or stream.ended, what="keepalives")
    assert not stream.ended, stream.ended


def test_postprocessing_events_reach_their_recipients_streams_only(stack: Stack) -> None:
    with streams(stack, "bob", "carol", "admin") as (bob, carol, admin):
        assert bob.status == 200 and bob.headers["Content-Type"].startswith("text/event-stream")
        assert bob.headers["Cache-Control"].startswith("no-cache")
        ready = ready_event(stack, "bob")
        finished = {**ready_event(stack, "bob", "admin", event="postprocessing-finished"), "outcome": "ready"}
        scan = {
            "event_id": uuid.uuid4().hex,
            "scan_id": "s1",
            "scan_status": "infected Eicar-Test-Signature",
            "scan_time": 2.0,
            "done": 1,
            "total": 100,
            "recipients": [stack.users["admin"]],
        }
        stack.bus.publish("scan-finished", scan)
        wait_until(lambda: len(bob.events) == 2 and len(admin.events) == 2, what="bob's and the admin's events")
        assert [(e.id, e.event) for e in bob.events] == [
            (ready["event_id"], "file-ready"),
            (finished["event_id"], "postprocessing-finished"),
        ]
        assert bob.events[0].data == {k: v for k, v in ready.items() if k != "recipients"}
        assert [e.event for e in admin.events] == ["postprocessing-finished", "scan-finished"]
        assert admin.events[1].data["scan_status"] == "infected Eicar-Test-Signature"
        # carol's stream is as alive, past the proxy's upstream timeout, and hears nothing of theirs.
        keepalives_pass(carol, 8)
        assert carol.events == []


def test_a_share_made_through_ocs_reaches_the_recipient_only(stack: Stack) -> None:
    admin = webdav_stack.connect(stack.dep, True)
    assert admin.request("MKCOL", "for-bob").status == 201
    with streams(stack, "bob", "carol") as (bob, carol):
        form = {"path": "/for-bob", "shareType": "0", "shareWith": "bob", "permissions": "1"}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "OCS-APIRequest": "true"}
        created = admin.request("POST", SHARES + "?format=json", urlencode(form).encode(), headers)
        assert created.status == 200, created.body
        share_id = str(json.loads(created.body)["ocs"]["data"]["id"])
        wait_until(lambda: bob.of("share-created"), what="bob's share-created")
        event = bob.of("share-created")[0]
        assert str(event.data["id"]) == share_id and event.data["grantee_id"] == stack.users["bob"]
        assert event.id.startswith(f"share-created-{share_id}-") and "recipients" not in event.data
        keepalives_pass(carol, 2)
        assert carol.events == []


def test_a_reconnect_with_last_event_id_gets_what_it_missed_once(stack: Stack) -> None:
    with streams(stack, "bob") as (first,):
        seen = ready_event(stack, "bob")
        wait_until(lambda: first.events, what="the first event")
    missed = [ready_event(stack, "bob")["event_id"] for _ in range(3)]
    with streams(stack, "carol") as (probe,):  # carol's event comes after bob's: when it is here, bob's are too
        ready_event(stack, "carol")
        wait_until(lambda: probe.events, what="carol's event")
    again = stack.stream("bob", last_id=seen["event_id"])
    try:
        wait_until(lambda: len(again.events) >= 3, what="the missed events")
        later = ready_event(stack, "bob")["event_id"]
        wait_until(lambda: len(again.events) >= 4, what="the next event")
        keepalives_pass(again, 1)
        assert [e.id for e in again.events] == [*missed, later]
    finally:
        again.close()
    # An id the buffer does not hold: everything it holds (all of it came after such an id).
    unknown = stack.stream("bob", last_id="not-an-id-of-bob")
    try:
        wait_until(lambda: unknown.last_id == later, what="bob's whole buffer")
        ids = [e.id for e in unknown.events]  # earlier tests' events for bob first
        assert ids[-5:] == [seen["event_id"], *missed, later] and len(set(ids)) == len(ids)
    finally:
        unknown.close()


def test_no_stream_without_a_signed_in_user(stack: Stack) -> None:
    proxy = stack.dep.addr("proxy", "http_addr")
    wrong = {"Authorization": "Basic " + b64encode(b"bob:wrong").decode()}
    for headers in ({}, wrong):
        refused = EventStream(proxy, PATH, headers)
        assert refused.status == 401 and not refused.events
    # Around the proxy: sse itself wants a user's internal token (a service's names nobody to tell).
    secret = webdav_stack.secrets(stack.dep)["jwt_secret"]
    service = identity.mint(secret, identity.service_identity("tests"))
    direct = stack.dep.addr("sse", "http_addr")
    for headers in ({}, {identity.HTTP_HEADER: service}):
        refused = EventStream(direct, PATH, headers, tls=False)
        assert refused.status == 401 and not refused.events
    signed_in = {identity.HTTP_HEADER: identity.mint(secret, identity.Identity(stack.users["bob"], "bob"))}
    head = EventStream(direct, PATH, signed_in, tls=False, method="HEAD")
    assert head.status == 405  # a HEAD would hold a stream open that carries nothing


def test_a_users_streams_beyond_the_cap_close_the_oldest_cleanly(stack: Stack) -> None:
    with streams(stack, "carol", "carol") as (oldest, middle):
        keepalives_pass(oldest, 1)
        with streams(stack, "carol") as (newest,):
            wait_until(lambda: oldest.ended, what="the oldest stream's end")
            assert oldest.ended == "eof"
            keepalives_pass(middle, 1)
            keepalives_pass(newest, 1)


def open_streams(dep: Deployment) -> float:
    return metric_value(dep.metrics("sse"), "sse_streams")


def test_a_stream_whose_client_left_is_found_at_the_next_keepalive(stack: Stack) -> None:
    # The earlier tests' streams are all closed by their clients: sse finds each at its next write.
    wait_until(lambda: open_streams(stack.dep) == 0, what="no stream left in sse")
    with streams(stack, "bob") as (stream,):
        keepalives_pass(stream, 1)
        assert open_streams(stack.dep) == 1
    wait_until(lambda: open_streams(stack.dep) == 0, what="the stream's end in sse")
    assert "Traceback" not in stack.sse.output() and "Error handling request" not in stack.sse.output()


def test_malformed_bus_events_are_dropped_with_a_log_line(stack: Stack) -> None:
    bob = stack.users["bob"]
    bad: list[dict[str, Any]] = [
        {"event_id": "m1", "recipients": bob},
        {"event_id": "m2", "recipients": [bob, 42]},
        {"event_id": "m3\nevent: forged", "recipients": [bob]},
        {"recipients": [bob]},
        {"event_id": "m5", "recipients": [bob], "path": {"not": "text"}},
        {"event_id": "m6", "recipients": [bob], "padding": "x" * 20000},
    ]
    logged = stack.sse.output().count("malformed bus event dropped")
    dropped = lambda: metric_value(stack.dep.metrics("sse"), "sse_events_dropped_total", 'event="file-ready"')  # noqa: E731
    before = dropped()
    with streams(stack, "bob") as (stream,):
        for data in bad:
            stack.bus.publish("file-ready", data)
        good = ready_event(stack, "bob")
        wait_until(lambda: stream.events, what="the good event")
        keepalives_pass(stream, 1)
        assert [e.id for e in stream.events] == [good["event_id"]]
    assert dropped() == before + len(bad)
    # Logged, a few lines per burst (the log's repeat limit).
    assert stack.sse.output().count("malformed bus event dropped") > logged
    assert stack.sse.alive()


def test_streams_end_cleanly_when_sse_stops_and_clients_come_back_after_a_sigkill(stack: Stack) -> None:
    with streams(stack, "bob") as (stream,):
        keepalives_pass(stream, 1)
        stack.sse.signal(signal.SIGTERM)
        wait_until(lambda: stream.ended, what="the stream's end")
        assert stream.ended == "eof"  # the last chunk came: a clean end, the client reconnects
    assert stack.sse.popen.wait(15) == 0
    stack.restart_sse()
    with streams(stack, "bob") as (stream,):
        first = ready_event(stack, "bob")
        wait_until(lambda: stream.events, what="an event after the restart")
        stack.sse.signal(signal.SIGKILL)
        wait_until(lambda: stream.ended, what="the stream's end")
        assert stream.ended.startswith("error")  # cut: the proxy does not pretend the stream ended well
    stack.restart_sse()
    again = stack.stream("bob", last_id=first["event_id"])  # a new instance: it never saw this id
    try:
        assert again.status == 200
        later = ready_event(stack, "bob")
        wait_until(lambda: again.events, what="an event after the SIGKILL")
        assert [e.id for e in again.events] == [later["event_id"]]
    finally:
        again.close()
