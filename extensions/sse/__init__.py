"""sse: live notifications, a Server-Sent Events stream per user of the bus events that concern them."""

from __future__ import annotations

import asyncio

from prometheus_client import Counter, Gauge

from ocisd.bus.client import BusClient, Handler
from ocisd.bus.messages import Message
from ocisd.extension import Context, Extension

from . import config as sse_config
from .config import SseConfig
from .events import EVENTS, Malformed, notice_of
from .http import PATH, make_app
from .hub import Hub

SWEEP_EVERY = 60.0  # seconds between expiries of buffers no new event touches


class Sse(Extension):
    name = "sse"
    summary = "live notifications: Server-Sent Events of postprocessing, scan and share events per user"
    config = SseConfig
    routes = (PATH,)

    @classmethod
    def check(cls, config: SseConfig) -> None:
        sse_config.check(config)

    def __init__(self) -> None:
        self._hub: Hub | None = None
        self._bus: BusClient | None = None
        self._handler: Handler | None = None  # the bus keeps handlers past a restart: removed at stop

    async def start(self, ctx: Context) -> None:
        cfg: SseConfig = ctx.config
        hub = self._hub = Hub(float(cfg.keep), cfg.keep_events, cfg.max_streams)
        self._bus = ctx.bus
        streamed = Counter("sse_events", "Bus events streamed, by event.", ["event"], registry=ctx.metrics)
        dropped = Counter(
            "sse_events_dropped", "Malformed bus events dropped, by event.", ["event"], registry=ctx.metrics
        )
        Gauge("sse_streams", "Open event streams.", registry=ctx.metrics).set_function(hub.open_streams)
        Gauge("sse_buffered", "Events kept for reconnecting clients.", registry=ctx.metrics).set_function(hub.buffered)

        def on_event(msg: Message) -> None:
            if msg.event not in EVENTS:  # subscriptions match by prefix: `event.file-ready-x` is another event
                return
            try:
                notice = notice_of(msg)
            except Malformed as exc:
                dropped.labels(msg.event).inc()
                ctx.log.warning("malformed bus event dropped", event=msg.event, error=str(exc))
                return
            if notice.recipients:  # none: a link share, nobody to tell
                streamed.labels(msg.event).inc()
                hub.publish(notice)

        self._handler = on_event
        for event in EVENTS:
            ctx.bus.subscribe(f"event.{event}", on_event)
        await ctx.serve_http(make_app(hub, float(cfg.keepalive)))
        ctx.create_task(_sweep(hub), "sweep")

    async def stop(self) -> None:
        if self._bus is not None and self._handler is not None:
            for event in EVENTS:
                self._bus.unsubscribe(f"event.{event}", self._handler)
            self._bus = self._handler = None
        if self._hub is not None:
            self._hub.close_all("shutdown")  # each stream ends with a clean last chunk; clients reconnect
            self._hub = None


async def _sweep(hub: Hub) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        hub.sweep()
