"""Live notifications through the HTTPS proxy: `ocis server` with the file stack, sse as its own process.

Each event reaches the streams of its recipients only; a reconnect with
Last-Event-ID gets what it missed and nothing twice; idle streams carry
keepalive comments past the proxy's upstream timeout; a SIGKILLed sse is
reconnected to; malformed bus events are dropped with a log line.
"""

from __future__ import annotations

import uuid
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import webdav_stack
from tests.support.harness import Deployment, Proc, deployment, wait_until
from tests.support.identity import add_user

from .publisher import Publisher
from .stream_client import EventStream

PATH = "/ocs/v2.php/apps/notifications/api/v1/notifications/sse"
PW = "sse-user-pw-for-tests"
KEEPALIVE = "0.25s"
# Far below the keepalive-fed streams' life in these tests: a proxy cutting idle upstreams would show.
UPSTREAM_TIMEOUT = "1s"
SSE_ENV = {"SSE_KEEPALIVE": KEEPALIVE, "OCIS_HEARTBEAT_INTERVAL": "0.2", "OCIS_DRAIN_TIMEOUT": "0.2"}


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
        dep.start_runtime(webdav_stack.names(True) + ",ocs,sharing,storage-shares", env=env)
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


def test_a_bus_event_reaches_its_recipients_stream_only(stack: Stack) -> None:
    bob, carol = stack.stream("bob"), stack.stream("carol")
    try:
        assert bob.status == 200 and bob.headers["Content-Type"].startswith("text/event-stream")
        sent = ready_event(stack, "bob")
        wait_until(lambda: bob.of("file-ready"), what="bob's file-ready")
        event = bob.of("file-ready")[0]
        assert event.id == sent["event_id"]
        assert event.data == {k: v for k, v in sent.items() if k != "recipients"}
        # carol's stream is as alive (keepalives flow) but hears nothing of bob's.
        seen = len(carol.comments)
        wait_until(lambda: len(carol.comments) > seen + 1, what="carol's keepalives")
        assert carol.events == []
    finally:
        bob.close()
        carol.close()
