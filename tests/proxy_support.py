"""Helpers the proxy tests share: start the test upstream, talk HTTPS to the proxy."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness import Deployment, Proc, free_port, metric_value, wait_until

ROOT = Path(__file__).resolve().parents[1]
NO_VERIFY = ssl._create_unverified_context()


def open_blob_route(dep: Deployment, route: str = "/blob/") -> None:
    """Make the test upstream's route public (no credentials), before the proxy starts."""
    from extensions.proxy.authn import PUBLIC_ROUTES

    dep.env["PROXY_PUBLIC_ROUTES"] = ",".join([*PUBLIC_ROUTES, route])


def start_upstream(dep: Deployment, name: str = "blob", route: str = "/blob/") -> tuple[Proc, str]:
    """Start `tests.proxy_upstream` on a free port; returns the process and its address."""
    addr = f"127.0.0.1:{free_port()}"
    log = dep.logs / f"{name}-{len(dep.procs)}.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", "tests.proxy_upstream", "--name", name, "--route", route, "--http", addr],
            cwd=ROOT,
            env=dep.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    proc = Proc(name, popen, log)
    dep.procs.append(proc)
    return proc, addr


def connection(
    addr: str, tls: bool = True, source: str | None = None, timeout: float = 30
) -> http.client.HTTPConnection:
    host, port = addr.rsplit(":", 1)
    src = (source, 0) if source else None
    if tls:
        return http.client.HTTPSConnection(host, int(port), timeout=timeout, context=NO_VERIFY, source_address=src)
    return http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=src)


def request(
    addr: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    tls: bool = True,
    source: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, headers, body)."""
    conn = connection(addr, tls, source)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(addr: str, path: str, **kw: Any) -> tuple[int, Any]:
    status, _, body = request(addr, "GET", path, **kw)
    return status, json.loads(body) if body.startswith((b"{", b"[")) else body


def routes(dep: Deployment) -> dict[str, list[str]]:
    """`ocis proxy routes --json` as {prefix: [upstream urls]}."""
    res = dep.ocis("proxy", "routes", "--json")
    assert res.returncode == 0, res.stderr
    return {r["prefix"]: [u["url"] for u in r["upstreams"]] for r in json.loads(res.stdout)}


def wait_upstreams(dep: Deployment, route: str, count: int) -> None:
    """Until the proxy's table gives `route` exactly `count` live upstreams (its /metrics)."""

    def live() -> bool:
        return metric_value(dep.metrics("proxy"), "proxy_route_upstreams", f'route="{route}"') == count

    wait_until(live, what=f"{count} upstreams for {route}")


def wait_routed(addr: str, path: str, tls: bool = True) -> None:
    wait_until(lambda: request(addr, "GET", path, tls=tls)[0] == 200, what=f"{path} routed through the proxy")
