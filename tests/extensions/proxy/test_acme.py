"""Automated TLS: the proxy obtains and renews its certificate from a real ACME server.

Pebble with pebble-challtestsrv as its DNS (`ocis.test` resolves to
127.0.0.1) validates HTTP-01 for real against the proxy's challenge listener;
no test uses PEBBLE_VA_ALWAYS_VALID. The proxy runs as its own process beside
a bus; every process is stopped by PID.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509

from extensions.proxy.certstore import CertStore
from extensions.proxy.tls import create_self_signed
from tests.support.harness import Deployment, Proc, free_port, http_get, metric_value, wait_until
from tests.support.pebble import REFUSED, Pebble, pebble
from tests.support.tools import needs

pytestmark = needs("pebble", "pebble-challtestsrv")
DOMAIN = "ocis.test"
ORDERS = "proxy_acme_orders_total"


class Acme:
    """A bus, pebble and a proxy that orders its certificate from it."""

    def __init__(self, dep: Deployment, ca: Pebble, bus: Proc) -> None:
        self.dep, self.ca, self.bus = dep, ca, bus
        self.https = dep.addr("proxy", "http_addr")
        self.plain = dep.addr("proxy", "acme_http_addr")
        self.proxy: Proc | None = None
        self.root = dep.root / "pebble-root.pem"

    def start_proxy(self, **env: str) -> Proc:
        self.proxy = self.dep.start_extension("proxy", env=env)
        return self.proxy

    def trust_root(self) -> None:
        self.root.write_bytes(self.ca.root_pem())

    def orders(self, result: str) -> float:
        return metric_value(self.dep.metrics("proxy"), ORDERS, f'result="{result}"')


@contextmanager
def acme_stack(dep: Deployment, validity: int = 0) -> Iterator[Acme]:
    port = int(dep.addr("proxy", "acme_http_addr").rsplit(":", 1)[1])
    with pebble(dep.root / "pebble", port, validity) as ca:
        dep.env.update(
            OCIS_URL=f"https://{DOMAIN}:{dep.addr('proxy', 'http_addr').rsplit(':', 1)[1]}",
            PROXY_ACME_DIRECTORY=ca.directory,
            PROXY_ACME_CA_BUNDLE=str(ca.ca_bundle),
            PROXY_ACME_EMAIL="admin@ocis.test",
        )
        yield Acme(dep, ca, dep.start_runtime("bus"))


@pytest.fixture
def acme(dep: Deployment) -> Iterator[Acme]:
    with acme_stack(dep) as stack:
        yield stack


@pytest.fixture
def short_lived(dep: Deployment) -> Iterator[Acme]:
    """Pebble issuing certificates that live 20 seconds."""
    with acme_stack(dep, validity=20) as stack:
        yield stack


def _tls_socket(addr: str, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    host, port = addr.rsplit(":", 1)
    return ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=DOMAIN)


def served(addr: str) -> x509.Certificate:
    """The leaf certificate a new handshake gets (not verified)."""
    ctx = ssl._create_unverified_context()
    with _tls_socket(addr, ctx) as sock:
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def verified_connection(addr: str, root: Path) -> http.client.HTTPConnection:
    """A keep-alive HTTPS connection to `addr` for DOMAIN, its chain verified against `root` only."""
    ctx = ssl.create_default_context(cafile=str(root))
    conn = http.client.HTTPConnection(DOMAIN, int(addr.rsplit(":", 1)[1]), timeout=10)
    conn.sock = _tls_socket(addr, ctx)
    return conn


def serial_of(conn: http.client.HTTPConnection) -> int:
    assert isinstance(conn.sock, ssl.SSLSocket)
    der = conn.sock.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def get_root(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    return resp.status


def wait_issued_by_pebble(addr: str) -> x509.Certificate:
    def issued() -> x509.Certificate | None:
        cert = served(addr)
        return cert if "Pebble" in cert.issuer.rfc4514_string() else None

    return wait_until(issued, 60, 0.2, what="a certificate issued by pebble")


def test_the_proxy_serves_a_certificate_from_the_acme_ca_that_verifies_against_its_root(acme: Acme) -> None:
    store = CertStore(acme.dep.data_dir / "proxy")
    with store.lock():  # holding the store's lock keeps the proxy's order waiting: it serves meanwhile
        proxy = acme.start_proxy()
        first = served(acme.https)
        assert "Pebble" not in first.issuer.rfc4514_string() and first.issuer == first.subject  # self-signed
    cert = wait_issued_by_pebble(acme.https)
    acme.trust_root()
    conn = verified_connection(acme.https, acme.root)
    assert get_root(conn) == 404  # a real HTTP answer over the verified chain (no route for /)
    assert serial_of(conn) == cert.serial_number
    conn.close()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [DOMAIN]
    port = acme.plain.rsplit(":", 1)[1]  # pebble's VA fetched the token from the proxy's listener
    assert f"validate w/ HTTP: http://{DOMAIN}:{port}/.well-known/acme-challenge/" in acme.ca.log()
    assert "set VALID by completed challenge" in acme.ca.log()

    for path in (store.account_key, store.certificate):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    metrics = acme.dep.metrics("proxy")
    assert metric_value(metrics, ORDERS, 'result="ok"') == 1
    expiry = metric_value(metrics, "proxy_certificate_expiry_seconds", f'domain="{DOMAIN}"')
    assert expiry == cert.not_valid_after_utc.timestamp()

    res = acme.dep.ocis("proxy", "certificate", "--json")
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert shown["domains"] == [DOMAIN] and "Pebble" in shown["issuer"] and shown["source"] == "acme"
    assert int(shown["serial"], 16) == cert.serial_number
    assert shown["not_after"] == shown["expiry"] == cert.not_valid_after_utc.isoformat()
    text = acme.dep.ocis("proxy", "certificate").stdout
    assert DOMAIN in text and "Pebble" in text

    # A restart serves the stored certificate from its first handshake and orders nothing.
    proxy.stop()
    acme.start_proxy()
    assert served(acme.https).serial_number == cert.serial_number
    assert acme.orders("ok") == 0


def test_a_forced_renewal_reaches_new_connections_while_an_old_one_keeps_working(acme: Acme) -> None:
    acme.start_proxy()
    cert = wait_issued_by_pebble(acme.https)
    acme.trust_root()
    old = verified_connection(acme.https, acme.root)
    assert get_root(old) == 404

    res = acme.dep.ocis("proxy", "certificate", "--renew", "--json", timeout=200)
    assert res.returncode == 0, res.stderr
    renewed = int(json.loads(res.stdout)["serial"], 16)
    assert renewed != cert.serial_number

    wait_until(lambda: served(acme.https).serial_number == renewed, what="the renewed certificate served")
    new = verified_connection(acme.https, acme.root)
    assert get_root(new) == 404 and serial_of(new) == renewed
    assert get_root(old) == 404 and serial_of(old) == cert.serial_number  # same TCP+TLS connection, still served
    old.close()
    new.close()
    assert acme.orders("ok") == 2


def test_the_proxy_renews_on_its_own_before_expiry(short_lived: Acme) -> None:
    short_lived.start_proxy()
    first = wait_issued_by_pebble(short_lived.https)

    def renewed() -> x509.Certificate | None:  # due at half the lifetime: the 30 days are capped to 10 s
        now = served(short_lived.https)
        return now if now.serial_number != first.serial_number else None

    second = wait_until(renewed, 60, 0.2, what="a renewal nobody asked for")
    assert second.not_valid_after_utc > first.not_valid_after_utc
    assert short_lived.orders("ok") >= 2 and short_lived.orders("error") == 0


def test_two_proxies_on_one_host_share_the_store_and_only_one_orders(acme: Acme) -> None:
    second = {"PROXY_HTTP_ADDR": f"127.0.0.1:{free_port()}", "PROXY_DEBUG_ADDR": f"127.0.0.1:{free_port()}"}
    procs = [acme.dep.start_extension("proxy", wait=False), acme.dep.start_extension("proxy", second, wait=False)]
    acme.dep.wait_ready("proxy", procs[0])
    acme.dep.wait_ready("proxy", procs[1], second)
    cert = wait_issued_by_pebble(acme.https)
    wait_until(lambda: served(second["PROXY_HTTP_ADDR"]).serial_number == cert.serial_number, what="the shared one")
    ok = acme.orders("ok") + metric_value(acme.dep.metrics("proxy", second), ORDERS, 'result="ok"')
    assert ok == 1 and acme.ca.log().count("Issued certificate serial") == 1
    for proc in procs:  # both listen for challenges on the same port (SO_REUSEPORT)
        assert "cannot listen for ACME challenges" not in proc.output()


def test_with_the_ca_gone_the_proxy_keeps_serving_and_retries_until_it_is_back(acme: Acme) -> None:
    proxy = acme.start_proxy()
    cert = wait_issued_by_pebble(acme.https)
    acme.ca.stop_pebble()

    res = acme.dep.ocis("proxy", "certificate", "--renew", timeout=200)
    assert res.returncode == 1
    assert "cannot reach the ACME directory" in res.stderr and DOMAIN in res.stderr, res.stderr
    assert served(acme.https).serial_number == cert.serial_number
    wait_until(lambda: acme.orders("error") >= 2, 60, 0.2, what="a retry after the first failure")
    assert served(acme.https).serial_number == cert.serial_number
    before = acme.orders("error")
    failures = proxy.output().count("certificate order failed")
    assert before <= failures <= acme.orders("error")  # logged once per attempt (one may land meanwhile)

    acme.ca.start()  # a new pebble run on the same ports: the next retry succeeds

    def changed() -> x509.Certificate | None:
        now = served(acme.https)
        return now if now.serial_number != cert.serial_number else None

    renewed = wait_until(changed, 90, 0.2, what="a retry that works")
    acme.trust_root()
    conn = verified_connection(acme.https, acme.root)
    assert get_root(conn) == 404 and serial_of(conn) == renewed.serial_number
    conn.close()
    assert acme.orders("ok") == 2


def test_the_http_listener_answers_challenges_and_sends_everything_else_to_https(acme: Acme) -> None:
    acme.start_proxy()
    wait_issued_by_pebble(acme.https)  # pebble's VA fetched its token here
    store = CertStore(acme.dep.data_dir / "proxy")
    token = "tok_" + "A" * 40
    store.put_challenge(token, b"tok.thumbprint")
    try:
        status, body = http_get(f"http://{acme.plain}/.well-known/acme-challenge/{token}")
        assert (status, body) == (200, b"tok.thumbprint")
    finally:
        store.drop_challenge(token)
    assert http_get(f"http://{acme.plain}/.well-known/acme-challenge/{token}")[0] == 404
    assert http_get(f"http://{acme.plain}/.well-known/acme-challenge/..%2Fcertificate.pem")[0] == 404

    conn = http.client.HTTPConnection(*acme.plain.rsplit(":", 1), timeout=10)
    conn.request("GET", "/some/path?x=1", headers={"Host": "evil.example"})
    resp = conn.getresponse()
    port = acme.https.rsplit(":", 1)[1]
    assert resp.status == 308
    assert resp.getheader("Location") == f"https://{DOMAIN}:{port}/some/path?x=1"  # OCIS_URL, not the Host header
    conn.close()


def test_a_refused_domain_or_a_wrong_ca_bundle_is_logged_and_tls_goes_on(acme: Acme) -> None:
    proxy = acme.start_proxy(PROXY_ACME_DOMAINS=REFUSED)
    wait_until(lambda: acme.orders("error") >= 1, 30, 0.2, what="the refused order")
    line = next(x for x in proxy.output().splitlines() if "certificate order failed" in x)
    assert REFUSED in line and "rejectedIdentifier" in line, line
    assert "Pebble" not in served(acme.https).issuer.rfc4514_string()  # still TLS, self-signed
    proxy.stop()

    other = acme.dep.root / "other-ca.pem"
    create_self_signed(other, acme.dep.root / "other-ca.key", ["localhost"])
    proxy = acme.start_proxy(PROXY_ACME_CA_BUNDLE=str(other))
    wait_until(lambda: acme.orders("error") >= 1, 30, 0.2, what="the unverifiable directory")
    line = next(x for x in proxy.output().splitlines() if "certificate order failed" in x)
    assert DOMAIN in line and "cannot verify" in line and "PROXY_ACME_CA_BUNDLE" in line, line
    assert served(acme.https).issuer == served(acme.https).subject  # self-signed, serving
    assert proxy.alive()


def test_acme_without_tls_is_refused_before_start(dep: Deployment) -> None:
    res = dep.ocis(
        "proxy", "server", env={"PROXY_ACME_DIRECTORY": "https://acme.example/dir", "PROXY_TLS": "false"}, timeout=30
    )
    assert res.returncode == 2 and "acme_directory" in res.stderr and "tls" in res.stderr, res.stderr


def test_inside_the_runtime_the_proxy_orders_the_same_way(acme: Acme) -> None:
    acme.bus.stop()  # one runtime holding the bus and the proxy
    runtime = acme.dep.start_runtime("bus,proxy")
    cert = wait_issued_by_pebble(acme.https)
    acme.trust_root()
    conn = verified_connection(acme.https, acme.root)
    assert get_root(conn) == 404 and serial_of(conn) == cert.serial_number
    conn.close()
    assert "certificate issued" in runtime.output()
