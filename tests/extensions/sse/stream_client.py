"""A Server-Sent Events client for the tests: reads one stream in a thread, as EventSource would parse it."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Event:
    id: str
    event: str
    data: Any


class EventStream:
    """GET (or `method`) `path` at `host:port` (HTTPS, self-signed) and collect events and comments until it ends."""

    def __init__(self, addr: str, path: str, headers: dict[str, str], tls: bool = True, method: str = "GET") -> None:
        host, port = addr.rsplit(":", 1)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, int(port), context=context)
        else:
            self._conn = http.client.HTTPConnection(host, int(port))
        self._conn.request(method, path, headers={"Accept": "text/event-stream", **headers})
        self._sock = self._conn.sock  # http.client lets go of it once the answer is in
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.events: list[Event] = []
        self.comments: list[str] = []
        self.ended = ""  # "eof" after a clean end, else the error that broke the stream
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self._thread.start()
        else:
            self.body = self.response.read()
            self.ended = "eof"

    @property
    def last_id(self) -> str:
        return self.events[-1].id if self.events else ""

    def of(self, event: str) -> list[Event]:
        return [e for e in self.events if e.event == event]

    def _read(self) -> None:
        # read1, not readline: http.client's readline takes a chunked body cut short for its end.
        fields: dict[str, str] = {}
        rest = b""
        try:
            while piece := self.response.read1(65536):
                *lines, rest = (rest + piece).split(b"\n")
                for line in lines:
                    fields = self._line(line.decode().rstrip("\r"), fields)
            self.ended = "eof"
        except (OSError, http.client.HTTPException) as exc:
            self.ended = f"error: {exc!r}"

    def _line(self, text: str, fields: dict[str, str]) -> dict[str, str]:
        """Take one line of the stream; the fields of the event being read."""
        if not text:
            if fields:
                self.events.append(Event(fields.get("id", ""), fields.get("event", ""), json.loads(fields["data"])))
            return {}
        if text.startswith(":"):
            self.comments.append(text[1:].strip())
        else:
            name, _, value = text.partition(":")
            fields[name] = value.removeprefix(" ")
        return fields

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
            except OSError:
                pass
        if self._thread.is_alive():
            self._thread.join(10)
        self.response.close()
        self._conn.close()
