"""Helpers the proxy tests share: start the test upstream, talk HTTPS to the proxy."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from tests.support.harness import Deployment, Proc, free_port, metric_value, wait_until

ROOT = Path(__file__).resolve().parents[2]
NO_VERIFY = ssl._create_unverified_context()


TRANSFER_USER = identity.Identity(user_id="transfer-id", username="transfer")


def open_data_route(dep: Deployment) -> None:
    """Route `/data/` (storage-users' signed URLs, their own credential) through the proxy, before it starts."""
    open_blob_route(dep, "/data/")
    dep.env.update(PROXY_ROUTES="/data/=storage-users", STORAGE_USERS_TRANSFER_EXPIRY="1h")


def store_via_signed_url(dep: Deployment, path: str, blob: Path, uploads: int = 0) -> tuple[list[str], str]:
    """Store `blob` at `path` of a user's home through the gateway's signed upload URL.

    Returns the path parts (`/data/<token>`) of `uploads` more upload URLs for
    the same path (each is accepted once) and of a download URL for the stored
    file, all valid for the whole test.
    """
    secret = str(tomllib.loads((dep.config_dir / "ocis.toml").read_text())["jwt_secret"])
    metadata = [(identity.GRPC_METADATA, identity.mint(secret, TRANSFER_USER, ttl=3600))]
    ref = pb.Reference(space_id="", path=path)
    size = blob.stat().st_size
    with grpc.insecure_channel(dep.addr("gateway", "grpc_addr")) as channel:
        stub = pb_grpc.StorageStub(channel)
        wait_until(lambda: stub.GetHome(pb.GetHomeRequest(), metadata=metadata, timeout=5), 20, what="gateway")
        upload = stub.InitiateUpload(pb.InitiateUploadRequest(ref=ref, size=size), metadata=metadata, timeout=30)
        subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-T", str(blob), upload.upload_url], check=True)
        download = stub.InitiateFileDownload(pb.InitiateFileDownloadRequest(ref=ref), metadata=metadata, timeout=30)
        more = [
            stub.InitiateUpload(pb.InitiateUploadRequest(ref=ref, size=size), metadata=metadata, timeout=30)
            for _ in range(uploads)
        ]
    return [urlsplit(u.upload_url).path for u in more], urlsplit(download.download_url).path


def open_blob_route(dep: Deployment, route: str = "/blob/") -> None:
    """Make the test upstream's route public (no credentials), before the proxy starts."""
    from extensions.proxy.authn import PUBLIC_ROUTES

    dep.env["PROXY_PUBLIC_ROUTES"] = ",".join([*PUBLIC_ROUTES, route])


def start_upstream(dep: Deployment, name: str = "blob", route: str = "/blob/") -> tuple[Proc, str]:
    """Start `tests.support.proxy_upstream` on a free port; returns the process and its address."""
    addr = f"127.0.0.1:{free_port()}"
    return spawn_module(
        dep, name, "tests.support.proxy_upstream", "--name", name, "--route", route, "--http", addr
    ), addr


def spawn_module(dep: Deployment, label: str, module: str, *args: str) -> Proc:
    """`python -m module args` with the deployment's environment, stopped with it."""
    log = dep.logs / f"{label}-{len(dep.procs)}.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=dep.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    proc = Proc(label, popen, log)
    dep.procs.append(proc)
    return proc


def start_blob_behind_plain_proxy(dep: Deployment) -> tuple[str, Proc, str]:
    """A plain-HTTP proxy and one test upstream on /blob/, routed: (proxy address, upstream, its address)."""
    open_blob_route(dep)
    dep.env["PROXY_TLS"] = "false"
    dep.start_runtime("bus")
    dep.start_extension("proxy")
    proxy = dep.addr("proxy", "http_addr")
    upstream, addr = start_upstream(dep)
    wait_routed(proxy, "/blob/small", tls=False)
    return proxy, upstream, addr


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
