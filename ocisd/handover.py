"""File hand-over: an upstream on the proxy's host gives it the file's descriptor instead of the file's bytes.

X-Sendfile by descriptor. Relaying a large GET costs a third busy process:
the upstream sends the file into a socket, the proxy moves it to the client
(even spliced, that is a second TCP stream, and on two cores three processes
share them). With a hand-over the proxy sends the file to the client itself,
with sendfile, as the upstream would have done directly.

1. The proxy asks: its GET to the upstream carries `X-Ocisd-Handover:
   <mailbox> <ticket>`, where the mailbox is the proxy's unix datagram socket in
   the abstract namespace (so it exists only on this host, in this network
   namespace) and the random ticket names this request: no other process can
   slip a descriptor in under it.
2. An upstream that serves the answer from a file and reaches the mailbox
   sends it the open descriptor (SCM_RIGHTS) with the ticket, then answers
   with an empty body and `X-Ocisd-Handover: <offset> <count>`; headers such
   as Content-Range stay as they would be. An upstream that cannot (another
   host, a full mailbox, not a file) simply answers as usual.
3. The proxy takes the descriptor by its ticket and sends `count` bytes from
   `offset` to the client; the upstream's connection is free at once.

The proxy asks only while `OCIS_LOCAL_HOP` is on (its default), so turning
the shortcuts off sends every byte over the upstream's socket.

The descriptor is sent before the answer's head, so it is always queued when
the head arrives. Anyone on the host can write to an abstract socket, so the
mailbox keeps a descriptor only from a process of its own user that is a
registered instance on this host (the kernel vouches for the sender's pid and
uid with SCM_CREDENTIALS), at most MAX_PER_SENDER of them per sender, and
closes everything else at once; a timer closes what was never taken.

An upstream grants a hand-over only after its own checks (a signed URL, a
token): the descriptor is a read-only view of what the answer would have
carried.
"""

from __future__ import annotations

import array
import asyncio
import os
import secrets
import socket
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocisd.logs import Logger, get_logger

if TYPE_CHECKING:
    from ocisd.bus.registry import Registry

HEADER = "X-Ocisd-Handover"
STALE_AFTER = 60.0  # seconds a descriptor whose request went away is kept before it is closed
EXPIRE_EVERY = 5.0  # seconds between the timer's sweeps for stale descriptors
MIN_COUNT = 64 * 1024  # smaller answers go out faster as one write than by descriptor
MAX_WAITING = 512  # descriptors held at once, all senders together
MAX_PER_SENDER = 64  # descriptors one process may have waiting; each waits only until its answer's head is read
LOG_EVERY = 10.0  # seconds between two log lines for the same reason of refusal
UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
TICKET_BYTES = 64
# Room for the sender's credentials and exactly one descriptor: the kernel closes any further ones itself.
CONTROL_BYTES = socket.CMSG_SPACE(UCRED.size) + socket.CMSG_SPACE(array.array("i").itemsize)

Senders = Callable[[int], bool]  # is this pid a registered instance on this host?


@dataclass(frozen=True)
class Grant:
    """What the upstream's answer says: send `count` bytes of the descriptor from `offset`."""

    offset: int
    count: int


def parse_grant(value: str) -> Grant | None:
    parts = value.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return Grant(int(parts[0]), int(parts[1]))


def offer(headers: Mapping[str, str], fd: int, offset: int, count: int) -> str | None:
    """Upstream side: send `fd` to the mailbox the request names; the answer's header value, or None.

    None means serve the bytes as usual: no hand-over asked, a small answer, or
    the mailbox is not on this host, gone, or full.
    """
    parts = headers.get(HEADER, "").split()
    if count < MIN_COUNT or len(parts) != 2 or not parts[0].startswith("@ocisd-handover-"):
        return None
    mailbox, ticket = parts
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendmsg([ticket.encode()], rights, socket.MSG_DONTWAIT, "\0" + mailbox[1:])
    except OSError:  # ECONNREFUSED: no such mailbox here; EAGAIN: the proxy is behind
        return None
    return f"{offset} {count}"


def local_instances(registry: Registry, host: str) -> Senders:
    """Senders the registry knows: a pid that an instance record on `host` names."""
    return lambda pid: any(e.record.pid == pid and e.record.host == host for e in registry.entries())


class _Refusals:
    """At most one log line per reason every LOG_EVERY seconds, counting the refusals in between."""

    def __init__(self, log: Logger) -> None:
        self._log = log
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def __call__(self, reason: str, pid: int, uid: int) -> None:
        self._count[reason] = self._count.get(reason, 0) + 1
        now = time.monotonic()
        if now - self._last.get(reason, -LOG_EVERY) >= LOG_EVERY:
            self._last[reason] = now
            refused = self._count.pop(reason)
            self._log.warning("hand-over descriptor refused", reason=reason, pid=pid, uid=uid, refused=refused)


class Mailbox:
    """Proxy side: where registered upstreams on this host deliver descriptors, each under its request's ticket."""

    def __init__(self, senders: Senders, log: Logger | None = None) -> None:
        self.name = f"@ocisd-handover-{os.getpid()}-{secrets.token_hex(8)}"
        self._senders = senders
        self._refused = _Refusals(log or get_logger("handover"))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # set before bind: every datagram has them
        self._sock.bind("\0" + self.name[1:])
        self._waiting: dict[str, tuple[int, float, int]] = {}  # ticket -> (descriptor, arrival, sender pid)
        self._per_sender: dict[int, int] = {}
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Collect datagrams as they arrive and sweep stale descriptors on a timer, in the running loop."""
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self.collect)
        self._sweep()

    def _sweep(self) -> None:
        self.expire()
        self._timer = asyncio.get_running_loop().call_later(EXPIRE_EVERY, self._sweep)

    def ask(self) -> tuple[str, str]:
        """(request header value, ticket) for one request."""
        ticket = secrets.token_hex(16)
        return f"{self.name} {ticket}", ticket

    def collect(self) -> None:
        """Take everything queued; close at once what a stranger sent, what is malformed or over a bound."""
        while True:
            try:
                data, ancillary, _, _ = self._sock.recvmsg(TICKET_BYTES, CONTROL_BYTES, socket.MSG_CMSG_CLOEXEC)
            except OSError:  # BlockingIOError: nothing left; EBADF: closed while a request was in flight
                break
            pid, uid, fds = -1, -1, array.array("i")
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, uid, _ = UCRED.unpack(payload[: UCRED.size])
                elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            ticket = data.decode(errors="replace")
            reason = self._refusal(pid, uid, ticket, len(fds))
            if reason is None:
                self._waiting[ticket] = (fds[0], time.monotonic(), pid)
                self._per_sender[pid] = self._per_sender.get(pid, 0) + 1
                continue
            for fd in fds:
                os.close(fd)
            self._refused(reason, pid, uid)

    def _refusal(self, pid: int, uid: int, ticket: str, fds: int) -> str | None:
        """Why a datagram's descriptor is not kept, or None to keep it."""
        if uid != os.geteuid() or not self._senders(pid):
            return "sender is no registered instance on this host"
        if fds != 1 or ticket in self._waiting:
            return "malformed datagram"
        if self._per_sender.get(pid, 0) >= MAX_PER_SENDER:
            return "sender has too many descriptors waiting"
        if len(self._waiting) >= MAX_WAITING:
            return "mailbox full"
        return None

    def expire(self) -> None:
        """Close the descriptors that waited longer than STALE_AFTER."""
        cutoff = time.monotonic() - STALE_AFTER
        for ticket in [t for t, (_, at, _) in self._waiting.items() if at < cutoff]:
            os.close(self._pop(ticket))

    def _pop(self, ticket: str) -> int:
        fd, _, pid = self._waiting.pop(ticket)
        self._per_sender[pid] -= 1
        if not self._per_sender[pid]:
            del self._per_sender[pid]
        return fd

    def take(self, ticket: str) -> int | None:
        """The descriptor sent under `ticket` (the caller closes it), or None."""
        self.collect()
        return self._pop(ticket) if ticket in self._waiting else None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._timer = None
        for ticket in list(self._waiting):
            os.close(self._pop(ticket))
        self._sock.close()
