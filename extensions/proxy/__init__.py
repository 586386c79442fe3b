"""proxy: the HTTPS front door with live routes, balancing, firewall rules, access log and metrics."""

from __future__ import annotations

import asyncio
import ipaddress
import signal

from aiohttp import web

from ocisd import addresses, handover
from ocisd.config.schema import ConfigError
from ocisd.extension import Context, Extension

from . import authn, renewal, rules, tls
from .accesslog import AccessLog
from .balancer import Balancer
from .challenge import ChallengeListener
from .commands import CERTIFICATE, RELOAD, ROUTES
from .config import ProxyConfig, check_acme
from .firewall import Firewall
from .forward import Forwarder
from .http import Front
from .local import LocalApps
from .protocol import FrontServer
from .routes import RouteTable, parse_overrides

BACKLOG = 1024


class Proxy(Extension):
    name = "proxy"
    summary = "HTTPS front door: live routes, balancing, firewall rules, access log"
    config = ProxyConfig
    commands = (ROUTES, RELOAD, CERTIFICATE)

    def __init__(self) -> None:
        self._runner: web.ServerRunner | None = None
        self._balancer: Balancer | None = None
        self._firewall: Firewall | None = None
        self._access: AccessLog | None = None
        self._cfg: ProxyConfig | None = None
        self._ctx: Context | None = None
        self._sighup = False
        self._mailbox: handover.Mailbox | None = None
        self._acme: ChallengeListener | None = None
        self._forwarder: Forwarder | None = None

    @classmethod
    def check(cls, config: ProxyConfig) -> None:
        check_acme(config)

    async def start(self, ctx: Context) -> None:
        cfg: ProxyConfig = ctx.config
        self._ctx, self._cfg = ctx, cfg
        try:
            trusted = [ipaddress.ip_network(c, strict=False) for c in cfg.trusted_proxies]
        except ValueError as exc:
            raise ConfigError(f"proxy trusted_proxies: {exc}") from None
        try:
            self._firewall = Firewall(rules.load(cfg))
        except rules.RulesError as exc:
            raise ConfigError(str(exc)) from None
        ssl_ctx = (
            tls.server_context(cfg.transport_tls_cert, cfg.transport_tls_key, ctx.data_dir, ctx.shared.url, ctx.log)
            if cfg.tls
            else None
        )
        if ssl_ctx is not None:
            self._acme = await renewal.start(ctx, cfg, ssl_ctx)
        table = RouteTable(parse_overrides(cfg.routes), ctx.node.host, float(cfg.no_instance_wait))
        self._balancer = Balancer(
            float(cfg.upstream_cooldown), float(cfg.upstream_timeout), not ctx.shared.insecure, ctx.registry.drop
        )
        self._access = AccessLog(ctx.metrics, cfg.access_log)
        authenticator = authn.Authenticator(ctx, cfg.public_routes, cfg.auth_cache_ttl)
        local = LocalApps(ctx.local_http, cfg.tls)
        if ctx.local_http.enabled:  # OCIS_LOCAL_HOP: upstreams on this host may hand files over
            self._mailbox = handover.Mailbox(handover.local_instances(ctx.registry, ctx.node.host), ctx.log)
            self._mailbox.start()
        forwarder = self._forwarder = Forwarder(
            table, self._balancer, local, self._mailbox, ctx.local_http.enabled, cfg.tls, self._access.upstream_error
        )
        front = Front(table, forwarder, self._firewall, self._access, trusted, cfg.tls, authenticator)
        firewall = self._firewall
        server = FrontServer(
            front.handle,
            lambda: (firewall.rules.max_header_size, firewall.rules.header_timeout),
            front.protocol_error,
            front.done,
        )
        ctx.create_task(self._follow_registry(table), "routes")
        self._runner = web.ServerRunner(
            server, handle_signals=False, shutdown_timeout=float(ctx.shared.shutdown_grace) / 2
        )
        await self._runner.setup()
        host, port = addresses.split(cfg.http_addr, "http_addr")
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_ctx, reuse_address=True, backlog=BACKLOG)
        await site.start()
        ctx.addresses["http"] = ctx.advertised(cfg.http_addr)
        self._install_sighup()

    async def _follow_registry(self, table: RouteTable) -> None:
        assert self._ctx is not None and self._balancer is not None and self._access is not None
        registry = self._ctx.registry
        while True:
            changed = registry.changed
            table.update(e.record for e in registry.entries())
            self._access.routes_changed(table.routes())
            await self._balancer.prune({u.url for r in table.routes() for u in r.upstreams})
            await changed.wait()

    def _install_sighup(self) -> None:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
            self._sighup = True
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread
            assert self._ctx is not None
            self._ctx.log.warning("SIGHUP not available; rules reload only on restart")

    def reload(self) -> bool:
        """Read the rules file again; a bad file is rejected and the rules in force stay."""
        assert self._cfg is not None and self._firewall is not None and self._access and self._ctx
        try:
            new = rules.load(self._cfg)
        except rules.RulesError as exc:
            self._access.reloads.labels("rejected").inc()
            self._ctx.log.error("rules rejected, previous rules stay in force", error=str(exc))
            return False
        self._firewall.replace(new)
        self._access.reloads.labels("ok").inc()
        self._ctx.log.info("rules reloaded", source=new.source)
        return True

    async def stop(self) -> None:
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        if self._forwarder is not None:
            self._forwarder.event_streams.end_all()  # or the runner's cleanup waits for them
        if self._runner is not None:
            await self._runner.cleanup()
        if self._acme is not None:
            await self._acme.stop()
            self._acme = None
        if self._balancer is not None:
            await self._balancer.close()
        if self._mailbox is not None:
            self._mailbox.close()
            self._mailbox = None
