"""Automated TLS: the proxy obtains and renews its certificate from an ACME CA while it keeps serving.

Once a second the proxy looks at the store: a certificate another instance
(or an earlier run) saved is swapped into the live SSL context. When there is
none, it no longer covers the domains, it is within `acme_renew_before` of
expiry (at most half its lifetime, so a short-lived certificate is not
re-ordered forever), or `ocis proxy certificate --renew` asked, the proxy
orders under the store's lock in a thread of its own. A failed order is logged
once, counted, and retried with doubling backoff; the certificate being served
(at worst the self-signed one) stays.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge

from ocisd.extension import Context
from ocisd.logs import Logger

from . import acme_client, tls
from .acme_client import AcmeSettings, OrderFailed
from .certstore import CertStore
from .challenge import ChallengeListener
from .config import ProxyConfig

WATCH_INTERVAL = 1.0  # seconds between looks at the store
FIRST_RETRY = 5.0  # seconds after a failed order; doubles up to MAX_RETRY
MAX_RETRY = 3600.0
T = TypeVar("T")


class CertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.expiry = Gauge(
            "proxy_certificate_expiry_seconds",
            "Unix time at which the served certificate expires, per name it covers.",
            ["domain"],
            registry=registry,
        )
        self.orders = Counter(
            "proxy_acme_orders", "ACME certificate orders by result (ok, error).", ["result"], registry=registry
        )
        for result in ("ok", "error"):
            self.orders.labels(result)

    def served(self, info: tls.CertInfo) -> None:
        self.expiry.clear()
        for name in info.domains:
            self.expiry.labels(name).set(info.not_after.timestamp())


def acme_settings(cfg: ProxyConfig, url: str) -> AcmeSettings:
    domains = cfg.acme_domains or [urlsplit(url).hostname or "localhost"]
    return AcmeSettings(cfg.acme_directory, cfg.acme_email, domains, cfg.acme_ca_bundle)


def due(info: tls.CertInfo, renew_before: float) -> bool:
    lifetime = (info.not_after - info.not_before).total_seconds()
    margin = datetime.timedelta(seconds=min(renew_before, lifetime / 2))
    return datetime.datetime.now(datetime.UTC) >= info.not_after - margin


async def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking `fn` in a daemon thread: a stopping proxy never waits for a CA that does not answer."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, exc: BaseException | None) -> None:
        if fut.done():  # cancelled meanwhile
            return
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (fn(), None)
        except BaseException as exc:  # handed to the awaiting task
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop closed while the CA was being asked
            pass

    threading.Thread(target=run, name="acme-order", daemon=True).start()
    return await fut


class Renewal:
    def __init__(
        self,
        settings: AcmeSettings,
        renew_before: float,
        store: CertStore,
        ssl_ctx: ssl.SSLContext,
        log: Logger,
        metrics: CertMetrics,
    ) -> None:
        self._settings = settings
        self._renew_before = renew_before
        self._store = store
        self._ctx = ssl_ctx
        self._log = log
        self._metrics = metrics
        self._served: tls.CertInfo | None = None
        self._seen: tuple[int, int, int] | None = None
        self._next_attempt = 0.0
        self._backoff = FIRST_RETRY
        self._request: bytes | None = None

    def _usable(self, info: tls.CertInfo) -> bool:
        return info.covers(self._settings.domains) and info.not_after > datetime.datetime.now(datetime.UTC)

    def refresh(self) -> None:
        """Serve the store's certificate if it changed since the last look and suits the domains."""
        try:
            st = os.stat(self._store.certificate)
        except FileNotFoundError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return
        self._seen = key
        pem = self._store.read(self._store.certificate) or b""
        try:
            info = tls.describe(pem)
            if not self._usable(info):
                self._log.warning("stored certificate not served: expired or other domains", domains=info.domains)
                return
            tls.swap_certificate(self._ctx, pem, self._store.root)
        except (ValueError, IndexError, ssl.SSLError) as exc:
            self._log.error("stored certificate unusable", path=str(self._store.certificate), error=str(exc))
            return
        self._served = info
        self._metrics.served(info)
        fields = {"issuer": info.issuer, "serial": info.serial, "not_after": info.not_after.isoformat()}
        self._log.info("certificate served", domains=",".join(info.domains), **fields)

    def _new_request(self) -> None:
        """An operator's `--renew` is tried at once, not after the backoff of earlier failures."""
        request = self._store.read(self._store.renew_request)
        if request is not None and request != self._request:
            self._backoff, self._next_attempt = FIRST_RETRY, 0.0
        self._request = request

    def _wanted(self) -> bool:
        if self._request is not None or self._served is None:
            return True
        return not self._served.covers(self._settings.domains) or due(self._served, self._renew_before)

    def _order_locked(self) -> bool:
        """Order unless another instance renewed while this one waited for the lock; True when it ordered."""
        store = self._store
        with store.lock():
            request = store.read(store.renew_request)
            current = store.read(store.certificate)
            if request is None and current is not None:
                try:
                    info = tls.describe(current)
                    if self._usable(info) and not due(info, self._renew_before):
                        return False
                except (ValueError, IndexError):
                    pass
            request_id = request.decode(errors="replace") if request else ""
            store.write_status(state="ordering", request=request_id, at=time.time())
            try:
                pem = acme_client.order(store, self._settings)
                serial = tls.describe(pem).serial  # what the CA sent parses before it replaces anything
                store.write(store.certificate, pem)
            except Exception as exc:  # the CA's refusal, or a store that cannot be written: both end this attempt
                problem = str(exc) if isinstance(exc, OrderFailed) else f"{type(exc).__name__}: {exc}"
                store.write_status(state="error", request=request_id, problem=problem, at=time.time())
                raise OrderFailed(problem) from exc
            if request is not None and store.read(store.renew_request) == request:
                store.remove(store.renew_request)
            store.write_status(state="ok", request=request_id, serial=serial, at=time.time())
            return True

    async def _attempt(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            ordered = await in_thread(self._order_locked)
        except Exception as exc:  # OrderFailed, or the store (lock, status file) failing before the order
            self._metrics.orders.labels("error").inc()
            self._log.error(
                "certificate order failed, still serving the current certificate",
                domains=",".join(self._settings.domains),
                directory=self._settings.directory,
                problem=str(exc) or type(exc).__name__,
                retry_in=f"{self._backoff:.0f}s",
            )
            self._next_attempt = loop.time() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_RETRY)
            return
        if ordered:
            self._metrics.orders.labels("ok").inc()
            self._log.info("certificate issued", domains=",".join(self._settings.domains))
        self._backoff, self._next_attempt = FIRST_RETRY, 0.0
        self.refresh()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.refresh()
                self._new_request()
                if loop.time() >= self._next_attempt and self._wanted():
                    await self._attempt()
            except Exception as exc:  # a bug here must not end the task: the proxy would stop serving
                self._log.error("certificate renewal step failed", error=repr(exc), exc_info=True)
            await asyncio.sleep(WATCH_INTERVAL)


async def start(ctx: Context, cfg: ProxyConfig, ssl_ctx: ssl.SSLContext) -> ChallengeListener | None:
    """Export the served certificate's expiry; with ACME on, start the challenge listener and the renewal task."""
    metrics = CertMetrics(ctx.metrics)
    if not cfg.acme_directory:
        served = tls.served_path(cfg.transport_tls_cert, ctx.data_dir)
        metrics.served(tls.describe(served.read_bytes()))
        return None
    store = CertStore(ctx.data_dir)
    store.ensure()
    settings = acme_settings(cfg, ctx.shared.url)
    renewal = Renewal(settings, float(cfg.acme_renew_before), store, ssl_ctx, ctx.log, metrics)
    renewal.refresh()  # a certificate from an earlier run is served from the first handshake on
    ctx.create_task(renewal.run(), "acme")
    listener = ChallengeListener(store, ctx.shared.url)
    try:
        ctx.addresses["acme_http"] = await listener.start(cfg.acme_http_addr)
    except OSError as exc:  # orders will fail and say so; TLS goes on
        ctx.log.error("cannot listen for ACME challenges", addr=cfg.acme_http_addr, error=str(exc))
        return None
    return listener
