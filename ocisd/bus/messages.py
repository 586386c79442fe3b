"""The bus's message kinds: plain data, validated on receipt.

This module imports nothing of ours so the broker, the clients and any tool can
share it. Every message is two frames: a topic and a JSON payload.

Topics read `<kind>.<name>`:
- `announce.<extension>`  an instance started; payload carries its record
- `heartbeat.<extension>` every heartbeat interval; the full record again
- `bye.<extension>`       graceful stop, as its drain begins; peers drop the instance at once
                          (and again as it closes)
- `event.<kind>`          a doorbell for background work; payload `data` is free-form
- `sync.<nonce>`          a starting process asks the broker for the records it holds
- `snapshot.<nonce>`      the broker's answer, to that process only: one message per record
                          (payload `record` and `age`, seconds since the broker last heard it),
                          then one with `done` true
- `ping.<sender>`         a process's probe of the bus, heard only by itself: it hears the bus
                          while its pings come back

A process stamps what it publishes with `src` (its sender id, fresh each run)
and `seq` (its count of messages): with several brokers every message arrives
once through each, and the receiver handles a (src, seq) once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
RECORD_KINDS = ("announce", "heartbeat", "bye")
MAX_NONCE = 64
MAX_SEQ = 2**53  # JSON numbers stay exact below this


class MessageError(ValueError):
    """A message that is malformed, too large or of an unknown schema version.

    `reason` (malformed|oversized|version) labels the drop counter.
    """

    def __init__(self, text: str, reason: str = "malformed") -> None:
        super().__init__(text)
        self.reason = reason


@dataclass
class InstanceRecord:
    """One running instance of an extension.

    name: extension name; instance: unique id of this run; host, pid: where it runs;
    started: unix time of start; addresses: {"http"|"grpc"|"debug"|...: "host:port"};
    version: ocisd version; health: starting|ready|unhealthy|stopping;
    restarts: how often the runtime restarted it; routes: HTTP prefixes it serves;
    stats: cpu/rss/uss for tools on other hosts; features: what it offers beyond its
    routes (e.g. "trash-bin"), for capabilities; address: the host address peers dial for its
    wildcard listeners (OCIS_ADVERTISE_HOST or its default route's), shown beside `host`.
    """

    name: str
    instance: str
    host: str
    pid: int
    started: float
    addresses: dict[str, str] = field(default_factory=dict)
    version: str = ""
    health: str = "starting"
    restarts: int = 0
    routes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    address: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> InstanceRecord:
        if not isinstance(data, dict):
            raise MessageError("record is not an object")
        try:
            rec = cls(
                name=_typed(data, "name", str),
                instance=_typed(data, "instance", str),
                host=_typed(data, "host", str),
                pid=_typed(data, "pid", int),
                started=float(_typed(data, "started", (int, float))),
                addresses=dict(_typed(data, "addresses", dict)),
                version=_typed(data, "version", str),
                health=_typed(data, "health", str),
                restarts=_typed(data, "restarts", int),
                routes=list(_typed(data, "routes", list)),
                stats=dict(data.get("stats", {}) or {}),
                features=list(_typed(data, "features", list)) if "features" in data else [],
                address=_typed(data, "address", str) if "address" in data else "",
            )
        except (TypeError, ValueError) as exc:
            raise MessageError(f"bad record: {exc}") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in rec.addresses.items()):
            raise MessageError("addresses must map strings to strings")
        if not all(isinstance(r, str) for r in rec.routes + rec.features):
            raise MessageError("routes and features must be strings")
        return rec


def _typed(data: dict[str, Any], key: str, kind: Any) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MessageError(f"field {key!r} missing or of wrong type")
    return value


@dataclass
class Message:
    """A decoded bus message: `kind` is announce|heartbeat|bye|event|sync|snapshot|ping.

    A snapshot message carries a `record` and its `age`, or none and `done`."""

    topic: str
    kind: str
    record: InstanceRecord | None = None
    event: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    age: float = 0.0
    done: bool = False
    src: str = ""  # sender id and sequence number, when stamped (`stamp`)
    seq: int = -1


def encode_record(kind: str, record: InstanceRecord) -> list[bytes]:
    payload = {"v": SCHEMA_VERSION, "kind": kind, "record": asdict(record)}
    return [f"{kind}.{record.name}".encode(), json.dumps(payload, separators=(",", ":")).encode()]


def encode_event(event: str, data: dict[str, Any]) -> list[bytes]:
    payload = {"v": SCHEMA_VERSION, "kind": "event", "event": event, "data": data}
    frames = [f"event.{event}".encode(), json.dumps(payload, separators=(",", ":")).encode()]
    if len(frames[1]) > MAX_MESSAGE_BYTES:
        raise MessageError(f"event {event!r} is larger than {MAX_MESSAGE_BYTES} bytes", "oversized")
    return frames


def encode_sync(nonce: str) -> list[bytes]:
    return [f"sync.{nonce}".encode(), json.dumps({"v": SCHEMA_VERSION, "kind": "sync"}).encode()]


def encode_snapshot(nonce: str, record: dict[str, Any] | None, age: float = 0.0) -> list[bytes]:
    """One answer to `sync.<nonce>`: a record the broker holds, or (None) the end of them."""
    payload: dict[str, Any] = {"v": SCHEMA_VERSION, "kind": "snapshot"}
    payload.update({"done": True} if record is None else {"record": record, "age": round(age, 3)})
    return [f"snapshot.{nonce}".encode(), json.dumps(payload, separators=(",", ":")).encode()]


def encode_ping(sender: str) -> list[bytes]:
    return [f"ping.{sender}".encode(), json.dumps({"v": SCHEMA_VERSION, "kind": "ping"}).encode()]


def stamp(frames: list[bytes], src: str, seq: int) -> list[bytes]:
    """`frames` (made by an `encode_*` here: the payload is one JSON object) with `src` and `seq` added."""
    topic, payload = frames
    return [topic, payload[:-1] + b',"src":' + json.dumps(src).encode() + b',"seq":' + str(seq).encode() + b"}"]


def _origin(payload: dict[str, Any]) -> tuple[str, int]:
    """A stamped message's (src, seq), ("", -1) for one not stamped; both or neither, well-formed."""
    if "src" not in payload and "seq" not in payload:
        return "", -1
    src, seq = payload.get("src"), payload.get("seq")
    if not isinstance(src, str) or not 0 < len(src) <= MAX_NONCE or not src.isalnum():
        raise MessageError("bad src")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_SEQ:
        raise MessageError("bad seq")
    return src, seq


def _nonce(topic: str, kind: str) -> str:
    nonce = topic.removeprefix(f"{kind}.")
    if nonce == topic or not 0 < len(nonce) <= MAX_NONCE or not nonce.isalnum():
        raise MessageError(f"bad {kind} topic")
    return nonce


def _snapshot(topic: str, payload: dict[str, Any]) -> Message:
    _nonce(topic, "snapshot")
    if payload.get("done") is True:
        return Message(topic=topic, kind="snapshot", done=True)
    age = payload.get("age")
    if not isinstance(age, (int, float)) or isinstance(age, bool) or not 0 <= age < 3600:
        raise MessageError("bad snapshot age")
    return Message(topic=topic, kind="snapshot", record=InstanceRecord.from_dict(payload.get("record")), age=age)


def decode(frames: list[bytes]) -> Message:
    """Validate and decode a received message; MessageError when it must be dropped."""
    if len(frames) != 2:
        raise MessageError(f"expected 2 frames, got {len(frames)}")
    topic_raw, payload_raw = frames
    if len(topic_raw) + len(payload_raw) > MAX_MESSAGE_BYTES:
        raise MessageError("oversized message", "oversized")
    try:
        topic = topic_raw.decode()
        payload = json.loads(payload_raw)
    except (UnicodeDecodeError, ValueError):
        raise MessageError("not UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise MessageError("payload is not an object")
    if payload.get("v") != SCHEMA_VERSION:
        raise MessageError(f"unknown schema version {payload.get('v')!r}", "version")
    msg = _decode(topic, payload)
    msg.src, msg.seq = _origin(payload)
    return msg


def _decode(topic: str, payload: dict[str, Any]) -> Message:
    kind = payload.get("kind")
    if kind in RECORD_KINDS:
        record = InstanceRecord.from_dict(payload.get("record"))
        if topic != f"{kind}.{record.name}":
            raise MessageError("topic does not match record")
        return Message(topic=topic, kind=kind, record=record)
    if kind == "event":
        event, data = payload.get("event"), payload.get("data")
        if not isinstance(event, str) or not isinstance(data, dict) or topic != f"event.{event}":
            raise MessageError("bad event")
        return Message(topic=topic, kind=kind, event=event, data=data)
    if kind in ("sync", "ping"):
        _nonce(topic, kind)
        return Message(topic=topic, kind=kind)
    if kind == "snapshot":
        return _snapshot(topic, payload)
    raise MessageError(f"unknown kind {kind!r}")
