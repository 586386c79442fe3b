"""Firewall rules, limits, hot reload and forwarded headers, through a proxy inside `ocis server`.

Client addresses are picked from 127.0.0.0/8 (every one of them is local) so
allow/deny and per-IP rules can be exercised on loopback.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness import Deployment, Proc, deployment, metric_value, wait_until
from tests.support.identity import QUICK_BUS
from tests.support.proxy import NO_VERIFY, get_json, open_blob_route, request, start_upstream, wait_routed

BASE_RULES = """\
deny = ["127.0.0.2/32"]

[routes."/blob/"]
deny = ["127.0.0.3/32"]
max_body_size = 1024
"""


@dataclass
class Front:
    dep: Deployment
    runtime: Proc
    proxy: str
    upstream: str
    rules: Path

    def reloads(self, result: str) -> float:
        return metric_value(self.dep.metrics("proxy"), "proxy_rules_reloads_total", f'result="{result}"')

    def apply(self, text: str) -> None:
        """Write the rules file and SIGHUP the runtime; returns once the proxy took it."""
        before = self.reloads("ok")
        self.rules.write_text(text)
        os.kill(self.runtime.pid, signal.SIGHUP)
        wait_until(lambda: self.reloads("ok") > before, what="rules reloaded")


@pytest.fixture(scope="module")
def front() -> Iterator[Front]:
    with deployment() as dep:
        rules = dep.root / "rules.toml"
        rules.write_text(BASE_RULES)
        dep.env["PROXY_RULES_FILE"] = str(rules)
        dep.env["PROXY_TRUSTED_PROXIES"] = "127.0.0.6/32"
        dep.env.update(QUICK_BUS)  # `ocis proxy reload` listens for heartbeats
        open_blob_route(dep)
        runtime = dep.start_runtime("bus,hello,proxy")
        _, upstream = start_upstream(dep)
        proxy = dep.addr("proxy", "http_addr")
        wait_routed(proxy, "/blob/small")
        yield Front(dep, runtime, proxy, upstream, rules)


@pytest.fixture
def rules(front: Front) -> Iterator[Front]:
    """Each test starts from BASE_RULES and leaves them in force."""
    yield front
    if front.rules.read_text() != BASE_RULES:
        front.apply(BASE_RULES)


def _tls_socket(addr: str) -> ssl.SSLSocket:
    host, port = addr.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=15)
    return NO_VERIFY.wrap_socket(raw, server_hostname=host)


def _read_head(sock: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_deny_cidr_globally_and_per_route(rules: Front) -> None:
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.2")[0] == 403
    assert request(rules.proxy, "GET", "/hello/", source="127.0.0.2")[0] == 403
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.3")[0] == 403
    assert request(rules.proxy, "GET", "/hello/", source="127.0.0.3")[0] == 200
    assert request(rules.proxy, "GET", "/blob/small")[0] == 200
    rules.apply('allow = ["127.0.0.8/32"]\n')
    assert request(rules.proxy, "GET", "/hello/", source="127.0.0.8")[0] == 200
    assert request(rules.proxy, "GET", "/hello/")[0] == 403


def test_rate_limit_answers_429_with_retry_after(rules: Front) -> None:
    rules.apply(BASE_RULES.replace("deny = [", "rate_limit = 0.1\nrate_burst = 3\ndeny = [", 1))
    statuses = [request(rules.proxy, "GET", "/blob/small", source="127.0.0.4") for _ in range(5)]
    assert [s for s, _, _ in statuses] == [200, 200, 200, 429, 429]
    assert int(statuses[3][1]["retry-after"]) >= 1
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.5")[0] == 200  # buckets are per client IP


def test_oversized_body_is_refused_before_the_upstream_sees_it(rules: Front) -> None:
    seen_before = get_json(rules.upstream, "/blob/stats", tls=False)[1]["requests"]
    assert request(rules.proxy, "PUT", "/blob/sink", body=b"x" * 4096)[0] == 413
    # Expect: 100-continue with a too large Content-Length: 413 at once, the body is never sent.
    sock = _tls_socket(rules.proxy)
    sock.sendall(b"PUT /blob/sink HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
    assert _read_head(sock).startswith(b"HTTP/1.1 413")
    sock.close()
    assert get_json(rules.upstream, "/blob/stats", tls=False)[1]["requests"] == seen_before + 1  # only this call
    # A chunked body that outgrows the limit is cut off with 413 as well.
    conn_status = request(rules.proxy, "PUT", "/blob/sink", body=iter([b"y" * 800, b"y" * 800]))[0]  # type: ignore[arg-type]
    assert conn_status == 413
    # Within the limit, with 100-continue: the proxy says continue, then streams the body up.
    sock = _tls_socket(rules.proxy)
    sock.sendall(b"PUT /blob/sink HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert _read_head(sock).startswith(b"HTTP/1.1 100 Continue")
    sock.sendall(b"hello")
    answer = _read_head(sock)
    length = int(re.search(rb"Content-Length: (\d+)", answer, re.I).group(1))  # type: ignore[union-attr]
    while len(answer.split(b"\r\n\r\n", 1)[1]) < length:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200") and hashlib.sha256(b"hello").hexdigest().encode() in answer
    sock.close()


def test_slow_header_gets_408(rules: Front) -> None:
    rules.apply(BASE_RULES.replace("deny = [", 'header_timeout = "1s"\ndeny = [', 1))
    sock = _tls_socket(rules.proxy)
    sock.sendall(b"GET /blob/small HTTP/1.1\r\nHost: t\r\n")  # and then nothing more
    assert _read_head(sock).startswith(b"HTTP/1.1 408")
    assert sock.recv(100) == b""  # and the connection is closed
    sock.close()


def test_header_over_the_limit_gets_431(rules: Front) -> None:
    assert request(rules.proxy, "GET", "/blob/small", headers={"X-Big": "a" * 20000})[0] == 200
    assert request(rules.proxy, "GET", "/blob/small", headers={"X-Big": "a" * 40000})[0] == 431


def test_sighup_with_a_broken_rules_file_keeps_the_old_rules(rules: Front) -> None:
    rejected = rules.reloads("rejected")
    rules.rules.write_text('deny = ["127.0.0.9/32"]\n\n[routes."/blob/"\nmax_body_size = 1\n')
    os.kill(rules.runtime.pid, signal.SIGHUP)
    wait_until(lambda: rules.reloads("rejected") > rejected, what="broken rules rejected")
    assert f"{rules.rules}:3:" in rules.runtime.output()
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.2")[0] == 403  # old rules in force
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.9")[0] == 200

    rules.rules.write_text('deny = ["127.0.0.300/32"]\n')
    res = rules.dep.ocis("proxy", "reload")
    assert res.returncode == 1 and f"{rules.rules}:1:" in res.stderr and "127.0.0.300" in res.stderr
    rules.rules.write_text('deny = ["127.0.0.9/32"]\n')
    res = rules.dep.ocis("proxy", "reload")
    assert res.returncode == 0 and "reloaded" in res.stdout, res.stdout + res.stderr
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.9")[0] == 403
    assert request(rules.proxy, "GET", "/blob/small", source="127.0.0.2")[0] == 200


def test_forwarded_headers_trust_only_trusted_proxies(rules: Front) -> None:
    spoof = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "gopher", "X-Access-Token": "forged"}
    _, seen = get_json(rules.proxy, "/blob/echo", headers=spoof, source="127.0.0.7")
    h = seen["headers"]
    assert h["X-Forwarded-For"] == "127.0.0.7" and h["X-Forwarded-Proto"] == "https"
    assert "X-Access-Token" not in h and len(h["X-Request-ID"]) == 32

    _, seen = get_json(rules.proxy, "/blob/echo", headers={**spoof, "X-Request-ID": "abc-123"}, source="127.0.0.6")
    h = seen["headers"]
    assert h["X-Forwarded-For"] == "203.0.113.9, 127.0.0.6" and h["X-Forwarded-Proto"] == "gopher"
    assert h["X-Request-ID"] == "abc-123"
    rules.apply(BASE_RULES + '\n[routes."/hello/"]\ndeny = ["203.0.113.0/24"]\n')
    assert request(rules.proxy, "GET", "/hello/", headers=spoof, source="127.0.0.6")[0] == 403
    assert request(rules.proxy, "GET", "/hello/", headers=spoof, source="127.0.0.7")[0] == 200
    wait_until(lambda: "client_ip=203.0.113.9" in rules.runtime.output(), what="the forwarded client IP logged")


def test_hop_by_hop_range_and_security_headers(rules: Front) -> None:
    _, seen = get_json(rules.proxy, "/blob/echo", headers={"Connection": "keep-alive, X-Hop", "X-Hop": "1"})
    assert "X-Hop" not in seen["headers"] and "Connection" not in seen["headers"]
    status, headers, body = request(rules.proxy, "GET", "/hello/static/app.js", headers={"Range": "bytes=0-9"})
    assert status == 206 and len(body) == 10 and headers["content-range"].startswith("bytes 0-9/")
    assert headers["x-content-type-options"] == "nosniff"
    # hello runs in the proxy's runtime: the request took the local hop (no socket), the file came whole.
    line = "path=/hello/static/app.js status=206 bytes_in=0 bytes_out="
    log = wait_until(lambda: line in rules.runtime.output() and rules.runtime.output(), what="the access log line")
    assert re.search(re.escape(line) + r"\d+ duration_ms=[\d.]+ upstream=local:http://", log)
    status, headers, _ = request(rules.proxy, "GET", "/hello/")
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["referrer-policy"] and len(headers["x-request-id"]) == 32
    metrics = rules.dep.metrics("proxy")
    assert metric_value(metrics, "proxy_requests_total", 'code="2xx",route="/hello/"') >= 1
    assert 'proxy_request_duration_seconds_bucket{le="0.1",route="/blob/"}' in metrics


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("r.yaml", "deny:\n  - 10.0.0.0/8\n  - [oops\n", ":4:"),
        ("r.yaml", "rate_limit: 5\nburst: 3\n", ":2: unknown key 'burst'"),
        ("r.toml", '[routes."/a/"]\nallow = ["10.0.0.0/8"]\ndeny = ["nonsense"]\n', ":3: 'deny': 'nonsense'"),
        ("r.toml", 'header_timeout = "soon"\n', ":1: 'header_timeout'"),
    ],
)
def test_rules_file_errors_name_the_file_and_line(tmp_path: Path, name: str, text: str, where: str) -> None:
    from extensions.proxy import rules as proxy_rules
    from extensions.proxy.config import ProxyConfig

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(proxy_rules.RulesError) as err:
        proxy_rules.load(ProxyConfig(rules_file=str(path)))
    assert str(err.value).startswith(f"{path}:") and where in str(err.value), str(err.value)
