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
the head arrives. An upstream grants a hand-over only after its own checks
(a signed URL, a token): the descriptor is a read-only view of what the
answer would have carried.
"""

from __future__ import annotations

import array
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

HEADER = "X-Ocisd-Handover"
STALE_AFTER = 60.0  # seconds a descriptor whose request went away is kept before it is closed
MIN_COUNT = 64 * 1024  # smaller answers go out faster as one write than by descriptor
MAX_WAITING = 1024  # descriptors held at once; anyone on the host can write to an abstract socket


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


class Mailbox:
    """Proxy side: where upstreams on this host deliver descriptors, each under its request's ticket."""

    def __init__(self) -> None:
        self.name = f"@ocisd-handover-{os.getpid()}-{secrets.token_hex(8)}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        self._sock.bind("\0" + self.name[1:])
        self._waiting: dict[str, tuple[int, float]] = {}  # ticket -> (descriptor, arrival)

    def fileno(self) -> int:
        return self._sock.fileno()

    def ask(self) -> tuple[str, str]:
        """(request header value, ticket) for one request."""
        ticket = secrets.token_hex(16)
        return f"{self.name} {ticket}", ticket

    def collect(self) -> None:
        """Take everything queued; close what is malformed, over the limit or never came for."""
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self._sock, 64, 1)
            except OSError:  # BlockingIOError: nothing left; EBADF: closed while a request was in flight
                break
            ticket = data.decode(errors="replace")
            if len(fds) == 1 and ticket not in self._waiting and len(self._waiting) < MAX_WAITING:
                self._waiting[ticket] = (fds[0], time.monotonic())
            else:
                for fd in fds:
                    os.close(fd)
        cutoff = time.monotonic() - STALE_AFTER
        for ticket in [t for t, (_, at) in self._waiting.items() if at < cutoff]:
            os.close(self._waiting.pop(ticket)[0])

    def take(self, ticket: str) -> int | None:
        """The descriptor sent under `ticket` (the caller closes it), or None."""
        self.collect()
        entry = self._waiting.pop(ticket, None)
        return entry[0] if entry else None

    def close(self) -> None:
        for fd, _ in self._waiting.values():
            os.close(fd)
        self._waiting.clear()
        self._sock.close()
