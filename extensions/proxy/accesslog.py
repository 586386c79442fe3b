"""The access log (one structured line per request) and the per-route Prometheus metrics.

A request is recorded once its response has been written (aiohttp's
`log_access` hook, see protocol.py), so bytes out and duration cover the whole
body, also for answers aiohttp writes after the handler returned (files from a
local extension, 400 and 431 for malformed requests). A request whose client
went away mid-way is recorded by the handler with status 499.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ocisd.logs import get_logger

from .routes import Route, Upstream

_problems = get_logger("proxy")
NO_ROUTE = "none"
TRACE = "ocisd.proxy.trace"  # where a request keeps its Trace (aiohttp requests are mappings)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class BatchedHandler(logging.Handler):
    """Writes access lines once per event-loop turn, formatted like every other line.

    A write per request costs as much as proxying a small request; under load
    many requests finish in one turn of the loop and share one write.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        root = next((h for h in logging.getLogger().handlers if h is not self), None)
        self._lines.append(root.format(record) if root else record.getMessage())
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (shutting down): write at once
                self.flush()

    def flush(self) -> None:
        if self._lines:
            root = next((h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)), None)
            stream = root.stream if root else sys.stderr
            stream.write("\n".join(self._lines) + "\n")
            stream.flush()
            self._lines.clear()


def _batched(log: logging.Logger) -> None:
    if not any(isinstance(h, BatchedHandler) for h in log.handlers):
        log.addHandler(BatchedHandler())
        log.propagate = False


@dataclass
class Trace:
    """What the proxy learns about one request while handling it."""

    request_id: str
    client_ip: str
    route: str
    started: float  # loop time
    upstream: str = ""
    bytes_out: int = 0  # body bytes streamed so far
    spliced: int = 0  # of which moved socket-to-socket by the kernel (splice.py)
    handed_over: int = 0  # of which sent from a file an upstream handed over (ocisd/handover.py)


class AccessLog:
    def __init__(self, metrics: CollectorRegistry, enabled: bool) -> None:
        self._log = get_logger("proxy.access")
        self._enabled = enabled
        _batched(logging.getLogger("ocisd.proxy.access"))
        self.requests = Counter(
            "proxy_requests",
            "Requests answered, by route and status class (2xx, 4xx, ...).",
            ["route", "code"],
            registry=metrics,
        )
        self.latency = Histogram(
            "proxy_request_duration_seconds",
            "Time from request headers to the last response byte.",
            ["route"],
            buckets=BUCKETS,
            registry=metrics,
        )
        self.upstream_errors = Counter(
            "proxy_upstream_errors",
            "Failed upstream exchanges by route and kind (connect, reset, timeout, body).",
            ["route", "kind"],
            registry=metrics,
        )
        self.upstreams = Gauge(
            "proxy_route_upstreams", "Live upstreams of each route (0: answered with 503).", ["route"], registry=metrics
        )
        self.spliced = Counter(
            "proxy_spliced_bytes",
            "Response body bytes moved from upstream to client socket by splice(2), by route.",
            ["route"],
            registry=metrics,
        )
        self.handed_over = Counter(
            "proxy_handover_bytes",
            "Response body bytes sent by the proxy from a file an upstream on this host handed over, by route.",
            ["route"],
            registry=metrics,
        )
        self.reloads = Counter(
            "proxy_rules_reloads", "Rule reloads by result (ok, rejected).", ["result"], registry=metrics
        )
        # Looking a labelled child up costs more than using it: keep them.
        self._counters: dict[tuple[str, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def routes_changed(self, routes: list[Route]) -> None:
        self.upstreams.clear()
        for route in routes:
            self.upstreams.labels(route.prefix).set(len(route.upstreams))

    def upstream_error(self, route: Route, up: Upstream, kind: str) -> None:
        self.upstream_errors.labels(route.prefix, kind).inc()
        _problems.warning("upstream failed", route=route.prefix, upstream=up.url, kind=kind)

    def finished(self, request: web.BaseRequest, status: int, bytes_out: int) -> None:
        """Record a request whose response is written (or abandoned)."""
        trace: Trace | None = request.get(TRACE)
        now = asyncio.get_running_loop().time()
        route = trace.route if trace else NO_ROUTE
        duration = now - trace.started if trace else 0.0
        key = (route, f"{status // 100}xx")
        counter = self._counters.get(key) or self._counters.setdefault(key, self.requests.labels(*key))
        counter.inc()
        hist = self._histograms.get(route) or self._histograms.setdefault(route, self.latency.labels(route))
        hist.observe(duration)
        if trace and trace.spliced:
            self.spliced.labels(route).inc(trace.spliced)
        if trace and trace.handed_over:
            self.handed_over.labels(route).inc(trace.handed_over)
        if not self._enabled:
            return
        self._log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            bytes_in=getattr(request.content, "total_bytes", 0),
            bytes_out=bytes_out,
            duration_ms=round(duration * 1000, 2),
            upstream=(trace.upstream if trace else "") or "-",
            request_id=trace.request_id if trace else "-",
            client_ip=trace.client_ip if trace else request.remote or "-",
            route=route,
        )
