"""Bus events a user is told about, checked as input from a stranger and turned into SSE notices.

The events (`ocisd.api.postprocessing.v1.contract`, `ocisd.api.sharing.v1.contract`)
carry `recipients`, the user ids to tell. Postprocessing's carry their own
`event_id`; a share event has none, so its id is made from what every sse
instance hears alike (the sender's id and sequence number, and the payload):
a client reconnecting to another instance resumes from the same id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ocisd.api.postprocessing.v1.contract import FILE_READY, POSTPROCESSING_FINISHED, SCAN_FINISHED
from ocisd.api.sharing.v1.contract import SHARE_CREATED
from ocisd.bus.messages import Message

MAX_DATA = 16 * 1024  # bytes of a notice's JSON
MAX_RECIPIENTS = 10_000
MAX_NAME = 256  # characters of a user id or an event id

# The fields each event documents, with their JSON types: present ones must have that type.
_TEXT, _NUMBER = (str,), (int, float)
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    POSTPROCESSING_FINISHED: {
        "resource_id": _TEXT,
        "space_id": _TEXT,
        "path": _TEXT,
        "outcome": _TEXT,
        "scan_status": _TEXT,
        "reason": _TEXT,
        "time": _NUMBER,
    },
    FILE_READY: {"resource_id": _TEXT, "space_id": _TEXT, "path": _TEXT, "time": _NUMBER},
    SCAN_FINISHED: {
        "scan_id": _TEXT,
        "resource_id": _TEXT,
        "space_id": _TEXT,
        "path": _TEXT,
        "scan_status": _TEXT,
        "scan_time": _NUMBER,
        "done": (int,),
        "total": (int,),
        "time": _NUMBER,
    },
    SHARE_CREATED: {
        "id": (str, int),
        "share_type": (int,),
        "resource_id": _TEXT,
        "owner_id": _TEXT,
        "creator_id": _TEXT,
        "grantee_id": _TEXT,
    },
}
EVENTS = tuple(FIELDS)


class Malformed(ValueError):
    """A bus event sse cannot pass on; the text says why."""


@dataclass(frozen=True)
class Notice:
    """One event as streamed: `data` is its payload without recipients, as one line of JSON."""

    id: str
    event: str
    data: str
    recipients: frozenset[str]

    def frame(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: {self.data}\n\n".encode()


def _name(value: Any, what: str) -> str:
    """A user or event id: text that fits on one SSE line (no CR, LF or NUL, which end or void a field)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME or not value.isprintable():
        raise Malformed(f"{what} must be printable text of 1 to {MAX_NAME} characters")
    return value


def _recipients(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or len(value) > MAX_RECIPIENTS:
        raise Malformed(f"recipients must be a list of at most {MAX_RECIPIENTS} user ids")
    return frozenset(_name(v, "a recipient") for v in value)


def _made_id(msg: Message, data: dict[str, Any]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{msg.src}\0{msg.seq}\0".encode())
    digest.update(json.dumps(data, sort_keys=True).encode())
    return f"{msg.event}-{data['id']}-{digest.hexdigest()}"


def notice_of(msg: Message) -> Notice:
    """The notice for bus event `msg`; Malformed for anything sse must not pass on."""
    fields = FIELDS.get(msg.event)
    if fields is None:
        raise Malformed(f"sse does not stream {msg.event!r}")
    data = dict(msg.data)
    recipients = _recipients(data.pop("recipients", None))
    for key, kinds in fields.items():
        value = data.get(key)
        if key in data and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise Malformed(f"field {key!r} must be {' or '.join(k.__name__ for k in kinds)}")
    if msg.event == SHARE_CREATED:
        if "id" not in data:
            raise Malformed("field 'id' is missing")
        event_id = _name(_made_id(msg, data), "the share's id")
    else:
        event_id = _name(data.get("event_id"), "event_id")
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise Malformed("the payload holds a number JSON cannot carry") from None
    if len(text) > MAX_DATA:
        raise Malformed(f"the payload is larger than {MAX_DATA} bytes")
    return Notice(event_id, msg.event, text, recipients)
