"""The pieces of sse without processes: which bus events pass, and what a reconnect replays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from extensions.sse.config import SseConfig, check
from extensions.sse.events import MAX_DATA, Malformed, Notice, notice_of
from extensions.sse.hub import Hub
from ocisd.bus.messages import Message
from ocisd.config.schema import ConfigError, Duration


def message(event: str, data: dict[str, Any], src: str = "abc", seq: int = 1) -> Message:
    return Message(topic=f"event.{event}", kind="event", event=event, data=data, src=src, seq=seq)


def notice(event_id: str, *users: str) -> Notice:
    return Notice(event_id, "file-ready", "{}", frozenset(users))


@pytest.mark.parametrize(
    "data",
    [
        {"event_id": "e1"},  # no recipients
        {"event_id": "e1", "recipients": "bob"},
        {"event_id": "e1", "recipients": [7]},
        {"event_id": "e1", "recipients": ["bob\nevent: forged"]},
        {"event_id": "e1\nid: forged", "recipients": ["bob"]},
        {"event_id": 5, "recipients": ["bob"]},
        {"recipients": ["bob"]},
        {"event_id": "e1", "recipients": ["bob"], "path": ["not", "text"]},
        {"event_id": "e1", "recipients": ["bob"], "time": True},
        {"event_id": "e1", "recipients": ["bob"], "extra": "x" * MAX_DATA},
        {"event_id": "e1", "recipients": ["bob"], "time": float("nan")},
    ],
)
def test_malformed_events_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        notice_of(message("file-ready", data))


def test_a_share_event_gets_an_id_every_instance_makes_alike() -> None:
    data = {"id": "12", "share_type": 0, "resource_id": "s!n", "grantee_id": "bob", "recipients": ["bob"]}
    first = notice_of(message("share-created", data))
    assert first == notice_of(message("share-created", dict(data)))  # another instance hearing it
    assert first.id != notice_of(message("share-created", data, seq=2)).id  # another message
    assert first.id.startswith("share-created-12-") and "recipients" not in first.data
    with pytest.raises(Malformed):
        notice_of(message("share-created", {"recipients": ["bob"]}))


def test_a_reconnect_gets_what_came_after_its_id_or_the_whole_buffer() -> None:
    async def scenario() -> None:
        now = [0.0]
        hub = Hub(keep=60, keep_events=3, max_streams=2, clock=lambda: now[0])
        for i in range(4):
            hub.publish(notice(f"e{i}", "bob"))
        hub.publish(notice("e3", "bob"))  # heard twice: kept once
        ids = lambda stream: [n.id for n in stream._pending]  # noqa: E731
        assert ids(hub.open("bob", "e2")) == ["e3"]
        assert ids(hub.open("bob", "e0")) == ["e1", "e2", "e3"]  # e0 left the buffer (count cap)
        assert ids(hub.open("bob", "never")) == ["e1", "e2", "e3"]
        assert hub.open_streams() == 2  # the per-user cap closed the oldest
        assert ids(hub.open("bob", None)) == []
        assert ids(hub.open("carol", "e2")) == []  # bob's events are bob's
        now[0] = 61.0
        hub.sweep()
        assert hub.buffered() == 0

    asyncio.run(scenario())


def test_a_stream_that_falls_behind_is_closed_and_a_closed_one_ends() -> None:
    async def scenario() -> None:
        hub = Hub(keep=60, keep_events=2, max_streams=4)
        slow = hub.open("bob", None)
        for i in range(3):
            hub.publish(notice(f"e{i}", "bob"))
        assert slow.closed == "overflow" and await slow.next(0.01) is None
        live = hub.open("bob", None)
        assert await live.next(0.01) == []  # idle: the caller writes a keepalive
        hub.close_all("shutdown")
        assert await live.next(10) is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "bad", [{"keep": Duration(0)}, {"keepalive": Duration(0)}, {"keep_events": 0}, {"max_streams": 0}]
)
def test_settings_that_cannot_work_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        check(SseConfig(**bad))
