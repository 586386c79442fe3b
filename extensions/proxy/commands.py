"""`ocis proxy routes [--json]`, `ocis proxy reload` and `ocis proxy certificate [--json] [--renew]`.

Both join the bus for a moment (one and a half heartbeat intervals) to learn
the live instances, exactly as the proxy does: `routes` builds the same route
table from them; `reload` finds the proxies on this host, checks the rules file
first (a bad one is reported with file and line and nobody is signalled), sends
each SIGHUP and waits until its /metrics shows the reload.

A `proxy` record is only a claim (on an open bus anyone may publish one), so
its PID is signalled only once the process is verified to be that proxy: ours
(same user), an `ocis` command, and the owner of the listening sockets of the
record's debug and http addresses. Anything else is reported and left alone.

`certificate` reads the certificate the proxy serves from its data dir;
`--renew` leaves a request in the ACME store, which a running proxy on this
host picks up (it owns the challenge listener), and waits for its outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil

from ocisd import addresses
from ocisd.bus.messages import InstanceRecord
from ocisd.cli.command import print_json, print_table
from ocisd.config.loader import EffectiveConfig
from ocisd.config.schema import ConfigError
from ocisd.extension import ExtensionCommand
from ocisd.node import Node

from . import rules, tls
from .certstore import CertStore
from .routes import RouteTable, parse_overrides

RELOAD_WAIT = 5.0
RENEW_WAIT = 180.0  # an order's own deadline (90 s), twice, for one that held the lock before ours
_RELOADS = "proxy_rules_reloads_total"


async def _live_records(cfg: EffectiveConfig) -> list[InstanceRecord]:
    node = Node(cfg.shared)
    await node.start()
    try:
        await asyncio.sleep(float(cfg.shared.heartbeat_interval) * 1.5)
        return [e.record for e in node.registry.entries()]
    finally:
        await node.close()


def route_rows(cfg: EffectiveConfig, records: list[InstanceRecord]) -> list[dict[str, Any]]:
    table = RouteTable(parse_overrides(cfg.own.routes), socket.gethostname())
    table.update(records)
    return [
        {
            "prefix": r.prefix,
            "extension": r.extension,
            "upstreams": [{"url": u.url, "instance": u.instance, "host": u.host, "pid": u.pid} for u in r.upstreams],
        }
        for r in table.routes()
    ]


def _setup_routes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print [{prefix, extension, upstreams: [{url, ...}]}]")


def _routes(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    rows = route_rows(cfg, asyncio.run(_live_records(cfg)))
    if args.json:
        print_json(rows)
        return 0
    flat = [
        {
            "prefix": r["prefix"],
            "extension": r["extension"],
            "upstreams": ", ".join(u["url"] for u in r["upstreams"]) or "(none: 503)",
        }
        for r in rows
    ]
    print_table(flat, ["prefix", "extension", "upstreams"])
    return 0


def _reload_count(debug_addr: str) -> tuple[float, float]:
    """(ok, rejected) reloads as the proxy's /metrics counts them."""
    with urllib.request.urlopen(f"http://{debug_addr}/metrics", timeout=3) as resp:
        text = resp.read().decode()
    counts = {"ok": 0.0, "rejected": 0.0}
    for line in text.splitlines():
        for result in counts:
            if line.startswith(f'{_RELOADS}{{result="{result}"}} '):
                counts[result] = float(line.split()[-1])
    return counts["ok"], counts["rejected"]


def _listens_on(proc: psutil.Process, addr: str) -> bool:
    host, port = addresses.split(addr)
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.laddr.ip in (host, "0.0.0.0", "::")
        for c in proc.net_connections(kind="tcp")
    )


def verified_proxy(rec: InstanceRecord) -> psutil.Process | str:
    """The process `rec` names when it is verifiably that proxy; else why not."""
    debug, http = rec.addresses.get("debug", ""), rec.addresses.get("http", "")
    try:
        proc = psutil.Process(rec.pid)
        if proc.uids().real != os.getuid():
            return "another user's process"
        if not any(os.path.basename(arg) == "ocis" for arg in proc.cmdline()[:2]):
            return "not an ocis process"
        if not debug or not http or not (_listens_on(proc, debug) and _listens_on(proc, http)):
            return "it does not listen on the record's debug and http addresses"
    except (psutil.Error, ConfigError) as exc:
        return f"cannot inspect it ({type(exc).__name__})"
    return proc


def _signal_and_wait(proc: psutil.Process, debug: str) -> str:
    before = _reload_count(debug)
    proc.send_signal(signal.SIGHUP)  # psutil checks the PID was not reused meanwhile
    deadline = time.monotonic() + RELOAD_WAIT
    while time.monotonic() < deadline:
        ok, rejected = _reload_count(debug)
        if ok > before[0]:
            return "reloaded"
        if rejected > before[1]:
            return "rejected (see the proxy's log)"
        time.sleep(0.05)
    return "no answer"


def _reload(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    try:
        rules.load(cfg.own)
    except rules.RulesError as exc:
        print(f"ocis proxy reload: {exc}; the rules in force stay", file=sys.stderr)
        return 1
    proxies = [r for r in asyncio.run(_live_records(cfg)) if r.name == "proxy"]
    here = socket.gethostname()
    if not proxies:
        print("ocis proxy reload: no running proxy found on the bus", file=sys.stderr)
        return 1
    failed, signalled = False, 0
    for rec in proxies:
        if rec.host != here:
            print(f"{rec.instance} on {rec.host}: skipped (send SIGHUP to PID {rec.pid} there)")
            continue
        proc = verified_proxy(rec)
        if isinstance(proc, str):
            print(f"{rec.instance} (PID {rec.pid}): not signalled, not verified as the proxy: {proc}")
            continue
        result = _signal_and_wait(proc, rec.addresses["debug"])
        signalled += 1
        failed = failed or result != "reloaded"
        print(f"{rec.instance} (PID {rec.pid}): {result}")
    return 1 if failed or not signalled else 0


def _served(cfg: EffectiveConfig) -> tuple[str, Path]:
    """(source, path) of the certificate the proxy serves now."""
    own = cfg.own
    store = CertStore(cfg.data_dir())
    if own.acme_directory and store.certificate.is_file():
        return "acme", store.certificate
    return ("file" if own.transport_tls_cert else "self-signed"), tls.served_path(
        own.transport_tls_cert, cfg.data_dir()
    )


def _renew(store: CertStore) -> int:
    store.ensure()
    request = uuid.uuid4().hex
    store.write(store.renew_request, request.encode())
    deadline = time.monotonic() + RENEW_WAIT
    while time.monotonic() < deadline:
        status = store.read_status()
        if status.get("request") == request and status.get("state") == "ok":
            return 0
        if status.get("request") == request and status.get("state") == "error":
            print(f"ocis proxy certificate: renewal failed: {status.get('problem')}", file=sys.stderr)
            print("the proxy keeps serving the current certificate and retries with backoff", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(
        f"ocis proxy certificate: no proxy renewed within {RENEW_WAIT:.0f}s; is one with ACME on running with "
        f"data dir {store.root.parent}? The request stays queued.",
        file=sys.stderr,
    )
    return 1


def _setup_certificate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json", action="store_true", help="print {domains, issuer, not_before, not_after, expiry, serial, ...}"
    )
    p.add_argument("--renew", action="store_true", help="make the running proxy order a new certificate now")


def _certificate(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    if not cfg.own.tls:
        print("ocis proxy certificate: tls=false, the proxy serves plain HTTP", file=sys.stderr)
        return 1
    if args.renew:
        if not cfg.own.acme_directory:
            print("ocis proxy certificate --renew: ACME is off (set PROXY_ACME_DIRECTORY)", file=sys.stderr)
            return 1
        if _renew(CertStore(cfg.data_dir())):
            return 1
    source, path = _served(cfg)
    try:
        info = tls.describe(path.read_bytes())
    except (OSError, ValueError, IndexError) as exc:
        print(f"ocis proxy certificate: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    row = {**info.as_json(), "source": source, "path": str(path)}
    if args.json:
        print_json(row)
        return 0
    for key, value in row.items():
        print(f"{key.replace('_', ' '):<11} {', '.join(value) if isinstance(value, list) else value}")
    return 0


ROUTES = ExtensionCommand(
    "routes", "print the route table with the live upstreams of each route", _setup_routes, _routes
)
RELOAD = ExtensionCommand(
    "reload", "check the rules file, then make every proxy on this host reload it (SIGHUP)", lambda p: None, _reload
)
CERTIFICATE = ExtensionCommand(
    "certificate",
    "print the served certificate's domains, issuer and expiry; --renew orders a new one",
    _setup_certificate,
    _certificate,
)
