"""sse's settings: addresses, how long events are kept for reconnecting clients, keepalive, caps."""

from __future__ import annotations

from dataclasses import dataclass

from ocisd.config.schema import ConfigError, Duration, setting


@dataclass
class SseConfig:
    http_addr: str = setting("127.0.0.1:9138", "HTTP address: the notifications event stream.")
    debug_addr: str = setting("127.0.0.1:9139", "Debug address: /healthz, /readyz, /metrics.")
    keep: Duration = setting(
        Duration(300.0), "How long each user's events are kept for a client reconnecting with Last-Event-ID."
    )
    keep_events: int = setting(1000, "Most events kept per user (the oldest go first).")
    keepalive: Duration = setting(
        Duration(15.0), "Idle time after which a stream gets a `: keepalive` comment (keeps it open, finds dead ones)."
    )
    max_streams: int = setting(16, "Open streams per user; one more closes that user's oldest.")


def check(cfg: SseConfig) -> None:
    if float(cfg.keep) <= 0 or float(cfg.keepalive) <= 0:
        raise ConfigError("sse keep and keepalive: must be more than 0")
    if cfg.keep_events < 1 or cfg.max_streams < 1:
        raise ConfigError("sse keep_events and max_streams: must be at least 1")
