"""`OCIS_LOCAL_HOP=false` turns every shortcut off at once: one runtime then talks as separate hosts would.

Each shortcut has its own test with the switch on (test_firewall: the
in-process hop; test_handover; test_splice; tests/core/test_rpc.py: the
in-process gRPC call); here the same runtime sends everything over sockets and
answers the same.
"""

from __future__ import annotations

import os

from tests.support.harness import Deployment, metric_value, wait_until
from tests.support.proxy import open_data_route, request, store_via_signed_url

SIZE = 6 * 1024 * 1024 + 12345  # above the hand-over and splice thresholds


def test_no_shortcut_is_taken_and_the_answers_stay_the_same(dep: Deployment) -> None:
    dep.env.update(PROXY_TLS="false", OCIS_LOCAL_HOP="false")
    open_data_route(dep)
    runtime = dep.start_runtime("bus,hello,storage-users,gateway,proxy")
    proxy = dep.addr("proxy", "http_addr")
    data = os.urandom(SIZE)
    blob = dep.root / "big.bin"
    blob.write_bytes(data)
    big = store_via_signed_url(dep, "/big.bin", blob)[1]
    wait_until(lambda: request(proxy, "GET", "/hello/", tls=False)[0] == 200, what="/hello/ routed")
    status, _, body = request(proxy, "GET", big, tls=False)
    assert status == 200 and body == data

    log = wait_until(lambda: "path=/hello/ status=200" in runtime.output() and runtime.output(), what="access log")
    assert "upstream=http://" in log and "upstream=local:" not in log  # through the hello's socket
    proxy_metrics = dep.metrics("proxy")
    assert metric_value(proxy_metrics, "proxy_handover_bytes_total", 'route="/data/"') == 0
    assert metric_value(proxy_metrics, "proxy_spliced_bytes_total", 'route="/data/"') == 0
    calls = dep.metrics("gateway")  # the gateway's forwards to storage-users crossed loopback gRPC
    assert metric_value(calls, "ocisd_rpc_client_calls_total", 'code="OK",extension="storage-users",path="remote"') > 0
    assert metric_value(calls, "ocisd_rpc_client_calls_total", 'code="OK",extension="storage-users",path="local"') == 0
