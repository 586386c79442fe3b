"""sse inside `ocis server` (the proxy hands the stream to its handler in-process) and as its own process
(the proxy relays it): events and keepalives pass either way, and stopping the server ends the stream cleanly
(the proxy's stop does not wait for an endless relay, nor cut it)."""

from __future__ import annotations

import signal
import uuid
from base64 import b64encode

import pytest

from tests.support import webdav_stack
from tests.support.harness import deployment, metric_value, wait_until

from .publisher import Publisher
from .stream_client import EventStream
from .test_sse import PATH, SSE_ENV, UPSTREAM_TIMEOUT


@pytest.mark.parametrize("own_process", [False, True], ids=["in-runtime", "own-process"])
def test_events_keepalives_and_a_clean_end_when_the_server_stops(own_process: bool) -> None:
    with deployment() as dep:
        env = {"PROXY_ACCESS_LOG": "false", "PROXY_UPSTREAM_TIMEOUT": UPSTREAM_TIMEOUT, **SSE_ENV}
        runtime = dep.start_runtime(",".join(("bus", *webdav_stack.FRONT, *([] if own_process else ["sse"]))), env=env)
        if own_process:
            dep.start_extension("sse", env=env)
        admin = webdav_stack.secrets(dep)["admin_user_id"]
        basic = b64encode(f"{webdav_stack.ADMIN}:{webdav_stack.PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        bus = Publisher(dep)
        try:
            gone = EventStream(dep.addr("proxy", "http_addr"), PATH, headers)
            wait_until(lambda: gone.comments, what="the first stream's opening")
            gone.close()
            wait_until(lambda: metric_value(dep.metrics("sse"), "sse_streams") == 0, what="the left stream's end")
            stream = EventStream(dep.addr("proxy", "http_addr"), PATH, headers)
            event_id = uuid.uuid4().hex
            bus.publish("postprocessing-finished", {"event_id": event_id, "outcome": "ready", "recipients": [admin]})
            wait_until(lambda: stream.events, what="the event")
            assert [(e.id, e.event) for e in stream.events] == [(event_id, "postprocessing-finished")]
            wait_until(lambda: stream.comments.count("keepalive") >= 8 or stream.ended, what="keepalives")
            assert not stream.ended  # 8 keepalives last longer than the proxy's upstream timeout
            runtime.signal(signal.SIGTERM)
            wait_until(lambda: stream.ended, what="the stream's end at shutdown")
            assert stream.ended == "eof"
            stream.close()
            assert runtime.popen.wait(30) == 0
        finally:
            bus.close()
