"""Live routes, balancing and the proxy's own certificate, against real processes over loopback."""

from __future__ import annotations

import signal
import ssl
import stat
from collections import Counter

from cryptography import x509

from tests.support.harness import Deployment, free_port, metric_value, wait_until
from tests.support.identity import QUICK_BUS
from tests.support.proxy import get_json, open_blob_route, request, routes, start_upstream, wait_routed, wait_upstreams


def _second_hello_env() -> dict[str, str]:
    return {k: f"127.0.0.1:{free_port()}" for k in ("HELLO_HTTP_ADDR", "HELLO_GRPC_ADDR", "HELLO_DEBUG_ADDR")}


def test_routes_follow_instances_and_503_when_none(dep: Deployment) -> None:
    # Quick heartbeats: `ocis proxy routes` listens for one and a half intervals, a dead
    # instance is dropped after three, a stop drains for one.
    dep.env.update({**QUICK_BUS, "OCIS_DRAIN_TIMEOUT": "0.2"})
    dep.start_runtime("bus,proxy")
    proxy = dep.addr("proxy", "http_addr")
    first = dep.start_extension("hello")
    wait_routed(proxy, "/hello/")
    assert len(routes(dep)["/hello/"]) == 1

    env2 = _second_hello_env()
    second = dep.start_extension("hello", env=env2)
    wait_upstreams(dep, "/hello/", 2)
    assert sorted(routes(dep)["/hello/"]) == sorted([dep.url("hello", path=""), f"http://{env2['HELLO_HTTP_ADDR']}"])

    second.kill()  # no bye: the registry drops it after three missed heartbeats
    wait_upstreams(dep, "/hello/", 1)
    assert routes(dep)["/hello/"] == [dep.url("hello", path="")]

    first.stop()
    wait_upstreams(dep, "/hello/", 0)
    assert "/hello/" not in routes(dep)  # the CLI lists live instances; the proxy still knows the route
    status, headers, body = request(proxy, "GET", "/hello/")
    assert int(headers["retry-after"]) > 0 and b"no live instance of hello" in body
    assert request(proxy, "GET", "/no/such/route")[0] == 404


def test_round_robin_then_retry_past_a_dead_upstream(dep: Deployment) -> None:
    open_blob_route(dep)
    dep.start_runtime("bus,proxy")
    proxy = dep.addr("proxy", "http_addr")
    a, _ = start_upstream(dep)
    b, _ = start_upstream(dep)
    wait_upstreams(dep, "/blob/", 2)

    served = [get_json(proxy, "/blob/echo")[1]["instance"] for _ in range(10)]
    assert Counter(served).most_common() == [(served[0], 5), (served[1], 5)]
    assert all(x != y for x, y in zip(served, served[1:])), served  # strictly alternating

    b.kill()  # its record stays in the registry for up to three heartbeats
    results = [get_json(proxy, "/blob/echo") for _ in range(6)]
    assert [s for s, _ in results] == [200] * 6
    assert len({body["instance"] for _, body in results}) == 1  # all from the survivor
    errors = sum(
        metric_value(dep.metrics("proxy"), "proxy_upstream_errors_total", f'kind="{kind}",route="/blob/"')
        for kind in ("connect", "reset")
    )
    assert errors >= 1
    assert a.alive()


def test_certificate_created_once_and_reused(dep: Deployment) -> None:
    env = {"OCIS_URL": "https://cloud.example.test:9200"}
    proxy = dep.start_extension("proxy", env=env)
    host, port = dep.addr("proxy", "http_addr").split(":")
    served = ssl.get_server_certificate((host, int(port)))
    cert_path = dep.data_dir / "proxy" / "server.crt"
    key_path = dep.data_dir / "proxy" / "server.key"
    first = cert_path.read_bytes()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    ips = {str(n) for n in san.get_values_for_type(x509.IPAddress)}
    assert names == {"cloud.example.test", "localhost"} and ips == {"127.0.0.1", "::1"}
    assert "self-signed certificate created" in proxy.output()

    # `ocis proxy server` takes SIGHUP as "reload the rules", as inside `ocis server`.
    proxy.signal(signal.SIGHUP)
    reloads = 'result="ok"'
    wait_until(lambda: metric_value(dep.metrics("proxy"), "proxy_rules_reloads_total", reloads) == 1, what="reload")
    assert proxy.alive()

    proxy.stop()
    again = dep.start_extension("proxy", env=env)
    assert cert_path.read_bytes() == first
    assert ssl.get_server_certificate((host, int(port))) == served
    assert "self-signed certificate created" not in again.output()
