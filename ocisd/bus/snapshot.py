"""The broker's memory of the records it forwarded, so a starting process need not wait for heartbeats.

A process that starts asks with `sync.<nonce>`; the broker answers on
`snapshot.<nonce>`, which only that process subscribed to: every record heard
within the expiry of three heartbeats, each with its age, then `done`. The
broker only remembers what it forwarded; each receiver checks the records as
it checks a heartbeat (schema, and a live PID of its user on its own host),
so a snapshot can claim nothing a heartbeat could not.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from ocisd.bus.messages import RECORD_KINDS, InstanceRecord, MessageError, decode, encode_snapshot
from ocisd.bus.registry import MISSED_HEARTBEATS

MAX_RECORDS = 10_000  # a flood of forged instances costs the broker this much memory at most
RECORD_TOPICS = tuple(f"{kind}.".encode() for kind in RECORD_KINDS)


class Snapshot:
    def __init__(self, heartbeat_interval: float) -> None:
        self.expire_after = MISSED_HEARTBEATS * heartbeat_interval
        self._records: dict[str, tuple[InstanceRecord, float]] = {}  # instance -> (record, monotonic heard)

    def note(self, frames: list[bytes]) -> None:
        """Remember the record of an announce or heartbeat, forget it on bye; ignore anything else."""
        if not frames or not frames[0].startswith(RECORD_TOPICS):
            return
        try:
            msg = decode(frames)
        except MessageError:
            return
        assert msg.record is not None
        self._records.pop(msg.record.instance, None)
        if msg.kind != "bye":
            self._records[msg.record.instance] = (msg.record, time.monotonic())
            while len(self._records) > MAX_RECORDS:
                del self._records[next(iter(self._records))]

    def answer(self, frames: list[bytes]) -> list[list[bytes]]:
        """The messages answering a `sync.<nonce>` request, or none for a malformed one."""
        try:
            msg = decode(frames)
        except MessageError:
            return []
        if msg.kind != "sync":
            return []
        nonce = msg.topic.removeprefix("sync.")
        now = time.monotonic()
        for instance, (_, heard) in list(self._records.items()):
            if now - heard > self.expire_after:
                del self._records[instance]
        out = [encode_snapshot(nonce, asdict(rec), now - heard) for rec, heard in self._records.values()]
        return [*out, encode_snapshot(nonce, None)]
