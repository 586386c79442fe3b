"""Files cross the proxy by hand-over: the upstream sends the open file, the proxy sends its bytes.

Real processes: storage-users' data server, the gateway and the proxy each in
their own `ocis <name> server`, talking over loopback like a one-host install.
"""

from __future__ import annotations

import array
import asyncio
import os
import socket
import time
from pathlib import Path

import psutil
import pytest

from ocisd import handover
from tests.support import webdav_stack
from tests.support.harness import Deployment, metric_value, wait_until
from tests.support.proxy import (
    connection,
    get_json,
    open_data_route,
    request,
    start_blob_behind_plain_proxy,
    store_via_signed_url,
)
from tests.support.proxy_upstream import pattern

SIZE = 6 * 1024 * 1024 + 12345
HANDED_OVER = 'route="/data/"'


def _handed_over(dep: Deployment) -> float:
    return metric_value(dep.metrics("proxy"), "proxy_handover_bytes_total", HANDED_OVER)


def _start(dep: Deployment, tls: bool) -> str:
    dep.env["PROXY_TLS"] = str(tls).lower()
    open_data_route(dep)
    dep.start_runtime("bus")
    for name in ("storage-users", "gateway", "proxy"):
        dep.start_extension(name)
    return dep.addr("proxy", "http_addr")


def _store(dep: Deployment, name: str, data: bytes) -> str:
    """Store `data`; the download path (`/data/<token>`)."""
    blob = dep.root / name
    blob.write_bytes(data)
    return store_via_signed_url(dep, f"/{name}", Path(blob))[1]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_file_answers_are_handed_over_whole_and_in_ranges(dep: Deployment, tls: bool) -> None:
    proxy = _start(dep, tls)
    data = os.urandom(SIZE)
    big, small = _store(dep, "big.bin", data), _store(dep, "small.bin", data[:10_000])
    wait_until(lambda: request(proxy, "HEAD", big, tls=tls)[0] == 200, what="/data/ routed")
    conn = connection(proxy, tls=tls)
    try:
        conn.request("GET", big)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200 and body == data
        assert resp.headers["Content-Length"] == str(SIZE) and resp.headers["ETag"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["X-Request-ID"]
        assert handover.HEADER not in resp.headers
        conn.request("GET", big, headers={"Range": "bytes=100000-3000000"})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 206 and body == data[100000:3000001]
        assert resp.headers["Content-Range"] == f"bytes 100000-3000000/{SIZE}"
        assert not resp.will_close  # the client's connection carries on after a hand-over
    finally:
        conn.close()
    wait_until(lambda: _handed_over(dep) == SIZE + 2900001, what="handed-over bytes counted")
    status, _, body = request(proxy, "GET", small, tls=tls)  # small answers travel as bytes
    assert status == 200 and body == data[:10_000]
    assert _handed_over(dep) == SIZE + 2900001


def test_only_the_proxy_asks_for_a_hand_over(dep: Deployment) -> None:
    proxy = _start(dep, tls=False)
    data = os.urandom(SIZE)
    big = _store(dep, "big.bin", data)
    wait_until(lambda: request(proxy, "HEAD", big, tls=False)[0] == 200, what="/data/ routed")
    storage = next(p.pid for p in dep.procs if p.label == "storage-users")
    ours = handover.Mailbox(lambda pid: pid == storage)  # this test process is no registered instance
    try:
        asked, ticket = ours.ask()
        status, _, body = request(proxy, "GET", big, headers={handover.HEADER: asked}, tls=False)
        assert status == 200 and body == data
        assert ours.take(ticket) is None  # the proxy put its own mailbox in the request
        # Asked directly, the data server does hand the file over: that is the protocol the proxy uses.
        asked, ticket = ours.ask()
        status, headers, body = request(
            dep.addr("storage-users", "http_addr"), "GET", big, headers={handover.HEADER: asked}, tls=False
        )
        fd = ours.take(ticket)
        assert fd is not None and status == 200 and body == b""
        try:
            assert headers[handover.HEADER.lower()] == f"0 {SIZE}" and os.pread(fd, SIZE, 0) == data
        finally:
            os.close(fd)
    finally:
        ours.close()


def test_descriptors_do_not_pile_up_in_the_proxy(dep: Deployment) -> None:
    proxy = _start(dep, tls=False)
    data = os.urandom(32 * 1024 * 1024)
    big = _store(dep, "big.bin", data)
    wait_until(lambda: request(proxy, "GET", big, tls=False)[0] == 200, what="/data/ routed")
    proxy_proc = psutil.Process(next(p.pid for p in dep.procs if p.label == "proxy"))
    before = proxy_proc.num_fds()
    host, port = proxy.rsplit(":", 1)
    for _ in range(15):  # clients that leave mid-file
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(f"GET {big} HTTP/1.1\r\nHost: {proxy}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    for _ in range(15):  # and clients that take it all
        status, _, body = request(proxy, "GET", big, tls=False)
        assert status == 200 and len(body) == len(data)
    wait_until(lambda: proxy_proc.num_fds() < before + 10, what="the proxy's descriptors back near where they were")
    log = next(p.log for p in dep.procs if p.label == "proxy").read_text()
    assert "proxy handler failed" not in log  # a client that leaves is no error of ours


def _mailbox_of(pid: int) -> str:
    """The proxy's mailbox as anyone on the host finds it: an abstract name in /proc/net/unix."""
    names = [line.split()[-1] for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    return next(n for n in names if n.startswith(f"@ocisd-handover-{pid}-"))


def _send(address: str, fds: list[int], ticket: bytes) -> bool:
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendmsg([ticket], rights, socket.MSG_DONTWAIT, "\0" + address[1:])
        except BlockingIOError:  # the mailbox's queue is full for a moment
            return False
    return True


def _pipes(n: int) -> list[int]:
    return [fd for _ in range(n // 2) for fd in os.pipe()]


def test_a_flood_of_descriptors_from_a_stranger_leaves_the_proxy_serving(dep: Deployment) -> None:
    proxy = _start(dep, tls=False)
    data = os.urandom(SIZE)
    big = _store(dep, "big.bin", data)
    wait_until(lambda: request(proxy, "GET", big, tls=False)[0] == 200, what="/data/ routed")
    proxy_proc = psutil.Process(next(p.pid for p in dep.procs if p.label == "proxy"))
    log = next(p.log for p in dep.procs if p.label == "proxy")
    before, log_before = proxy_proc.num_fds(), log.stat().st_size
    mailbox = _mailbox_of(proxy_proc.pid)
    fds = _pipes(1200)
    try:
        for i in range(0, len(fds), 200):  # 1 200 descriptors in six datagrams
            assert _send(mailbox, fds[i : i + 200], b"0" * 32)
        for i, fd in enumerate(fds):  # and one by one, each under a ticket of its own
            while not _send(mailbox, [fd], b"%032d" % i):
                time.sleep(0.001)
    finally:
        for fd in fds:
            os.close(fd)
    for _ in range(3):
        status, _, body = request(proxy, "GET", big, tls=False)
        assert status == 200 and body == data
    wait_until(lambda: _handed_over(dep) >= 4 * SIZE, what="registered senders still hand over")
    assert proxy_proc.num_fds() < before + 10
    refusals = [line for line in log.read_text().splitlines() if "hand-over descriptor refused" in line]
    assert 1 <= len(refusals) <= 2 and log.stat().st_size - log_before < 4096


def test_the_mailbox_bounds_each_sender_and_sweeps_on_a_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handover, "STALE_AFTER", 0.2)
    monkeypatch.setattr(handover, "EXPIRE_EVERY", 0.1)
    me = psutil.Process()

    async def run() -> None:
        mailbox = handover.Mailbox(lambda pid: pid == os.getpid())
        mailbox.start()
        before = me.num_fds()
        fds = _pipes(2 * handover.MAX_PER_SENDER)
        try:
            for i, fd in enumerate(fds):
                for _ in range(1000):
                    if _send(mailbox.name, [fd], b"%032d" % i):
                        break
                    await asyncio.sleep(0.001)  # the mailbox drains its queue in this loop
            await asyncio.sleep(0.05)
            held = me.num_fds() - before - len(fds)
            assert held == handover.MAX_PER_SENDER  # the rest was closed at once
            await asyncio.sleep(0.5)  # no datagram arrives: the timer alone closes the stale ones
            assert me.num_fds() - before - len(fds) == 0
        finally:
            for fd in fds:
                os.close(fd)
            mailbox.close()

    asyncio.run(run())


def test_a_lost_descriptor_is_fetched_again_without_hand_over(dep: Deployment) -> None:
    proxy, _, upstream = start_blob_behind_plain_proxy(dep)
    seen = get_json(upstream, "/blob/stats", tls=False)[1]["requests"]
    n = 3 * 1024 * 1024
    status, headers, body = request(proxy, "GET", f"/blob/granted/{n}", tls=False)
    assert status == 200 and body == pattern(n) and handover.HEADER.lower() not in headers
    # the granted answer, the plain one, and this stats request itself
    assert get_json(upstream, "/blob/stats", tls=False)[1]["requests"] - seen == 3


def test_webdav_downloads_are_handed_over_by_ocdav(dep: Deployment) -> None:
    """ocdav answers a GET from the blob on its host; in its own process behind the proxy it hands the blob over."""
    dep.start_runtime(",".join(n for n in webdav_stack.names(proxied=True).split(",") if n != "proxy"))
    dep.start_extension("proxy")
    dav = webdav_stack.connect(dep, proxied=True)
    data = os.urandom(SIZE)
    assert dav.request("PUT", "big.bin", data).status == 201
    reply = dav.request("GET", "big.bin")
    assert reply.status == 200 and reply.body == data and handover.HEADER not in reply.headers
    part = dav.request("GET", "big.bin", headers={"Range": "bytes=5-1048580"})
    assert part.status == 206 and part.body == data[5:1048581]

    def counted() -> float:
        lines = dep.metrics("proxy").splitlines()
        return sum(float(line.split()[-1]) for line in lines if line.startswith("proxy_handover_bytes_total{"))

    wait_until(lambda: counted() == SIZE + 1048576, what="handed-over bytes counted")
