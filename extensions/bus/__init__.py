"""The bus broker as an extension: `ocis bus server` or inside `ocis server`."""

from __future__ import annotations

from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from .broker import Broker
from .config import BusConfig


class Bus(Extension):
    name = "bus"
    summary = "ZeroMQ broker carrying announce, heartbeat, bye and event messages"
    config = BusConfig

    def __init__(self) -> None:
        self._broker: Broker | None = None

    async def start(self, ctx: Context) -> None:
        brokers, index = ctx.shared.bus_brokers(), ctx.config.broker
        if not 0 <= index < len(brokers):
            raise ConfigError(f"broker is {index}, but bus_pub_addr and bus_sub_addr list {len(brokers)} brokers")
        pub, sub = brokers[index]
        self._broker = Broker(ctx.shared, ctx.metrics)
        await self._broker.start_auth()  # before bind: no handshake may bypass it
        self._broker.bind(pub, sub)
        ctx.addresses["pub"], ctx.addresses["sub"] = pub, sub
        ctx.create_task(self._broker.forward_messages(), "messages")
        ctx.create_task(self._broker.forward_subscriptions(), "subscriptions")

    async def stop(self) -> None:
        if self._broker is not None:
            self._broker.close()
