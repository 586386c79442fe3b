"""Who is listening, and what each user was told lately: the streams and the per-user replay buffers.

Every notice goes into the buffer of each of its recipients (at most `keep`
seconds and `keep_events` notices, the oldest leave first; one whose id the
buffer holds already, published twice, is dropped) and to their open streams.
A stream opened with `Last-Event-ID` first gets what its user's buffer holds
after that id. When the buffer does not hold the id (it left the buffer, this
instance started after it, or it was never one of this user's), the whole
buffer is sent: everything a buffer holds arrived after any id it no longer or
never held, so the client misses nothing the buffer can give and gets nothing
twice. A client that reads too slowly to keep up with `keep_events` pending
notices is closed; it reconnects and resumes from the buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from .events import Notice


class Stream:
    """One client's connection: the notices waiting to be written."""

    def __init__(self, user: str, limit: int) -> None:
        self.user = user
        self._limit = limit
        self._pending: deque[Notice] = deque()
        self._wake = asyncio.Event()
        self.closed = ""  # why the stream ended ("" while open)

    def push(self, notice: Notice) -> None:
        if self.closed:
            return
        if len(self._pending) >= self._limit:
            self.close("overflow")
            return
        self._pending.append(notice)
        self._wake.set()

    def close(self, why: str) -> None:
        if not self.closed:
            self.closed = why
            self._pending.clear()
            self._wake.set()

    async def next(self, idle: float) -> list[Notice] | None:
        """What is pending (waiting up to `idle` s; [] when nothing came), None once closed."""
        if not self._pending and not self.closed:
            try:
                await asyncio.wait_for(self._wake.wait(), idle)
            except TimeoutError:
                pass
        self._wake.clear()
        if self.closed:
            return None
        out = list(self._pending)
        self._pending.clear()
        return out


class Hub:
    def __init__(
        self, keep: float, keep_events: int, max_streams: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keep = keep
        self._keep_events = keep_events
        self._max_streams = max_streams
        self._clock = clock
        self._buffers: dict[str, OrderedDict[str, tuple[float, Notice]]] = {}  # user -> id -> (arrived, notice)
        self._streams: dict[str, list[Stream]] = {}

    def publish(self, notice: Notice) -> None:
        """Buffer `notice` for its recipients and push it to their streams."""
        now = self._clock()
        for user in notice.recipients:
            buffer = self._buffers.setdefault(user, OrderedDict())
            if notice.id in buffer:
                continue
            buffer[notice.id] = (now, notice)
            if len(buffer) > self._keep_events:
                buffer.popitem(last=False)
            self._expire(user, now)
            for stream in self._streams.get(user, ()):
                stream.push(notice)

    def open(self, user: str, last_id: str | None) -> Stream:
        """A new stream for `user`, holding the replay for `last_id` (none without one)."""
        stream = Stream(user, self._keep_events)
        streams = self._streams.setdefault(user, [])
        while len(streams) >= self._max_streams:
            # Dead connections are found only at their next write: the newest connection wins.
            self.close(streams[0], "replaced")
        streams.append(stream)
        if last_id is not None:
            self._expire(user, self._clock())
            buffer = self._buffers.get(user, OrderedDict())
            ids = list(buffer)
            start = ids.index(last_id) + 1 if last_id in buffer else 0
            for event_id in ids[start:]:
                stream.push(buffer[event_id][1])
        return stream

    def close(self, stream: Stream, why: str) -> None:
        stream.close(why)
        streams = self._streams.get(stream.user, [])
        if stream in streams:
            streams.remove(stream)
        if not streams:
            self._streams.pop(stream.user, None)

    def close_all(self, why: str) -> None:
        for streams in list(self._streams.values()):
            for stream in list(streams):
                self.close(stream, why)

    def sweep(self) -> None:
        """Drop what every buffer keeps past `keep` (users without new events included)."""
        now = self._clock()
        for user in list(self._buffers):
            self._expire(user, now)

    def _expire(self, user: str, now: float) -> None:
        buffer = self._buffers.get(user)
        while buffer and next(iter(buffer.values()))[0] < now - self._keep:
            buffer.popitem(last=False)
        if not buffer:
            self._buffers.pop(user, None)

    def open_streams(self) -> int:
        return sum(len(s) for s in self._streams.values())

    def buffered(self) -> int:
        return sum(len(b) for b in self._buffers.values())
