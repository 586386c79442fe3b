"""The RFC 4918 `If` header: parsing into lists of conditions, and evaluating them.

If = 1*No-tag-list | 1*Tagged-list
Tagged-list = Resource-Tag 1*List        Resource-Tag = "<" URL ">"
List = "(" 1*Condition ")"                Condition = ["Not"] (State-token | "[" entity-tag "]")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import DavError

NO_LOCK = "DAV:no-lock"
_TOKEN = re.compile(r'\s*(?:(<[^>]*>)|(\()|(\))|(\[(?:W/)?"[^"]*"\])|(Not)\b)', re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    negate: bool
    token: str | None = None  # a state token (lock token) without the angle brackets
    etag: str | None = None  # an entity tag with its quotes (and W/ if weak)


@dataclass(frozen=True)
class IfList:
    resource: str | None  # the tagged resource URL, or None for the request URL
    conditions: tuple[Condition, ...]


def parse(header: str) -> list[IfList]:
    lists: list[IfList] = []
    resource: str | None = None
    tagged: bool | None = None
    pos = 0
    current: list[Condition] | None = None
    negate = False
    text = header.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip() == "":
                break
            raise DavError(400, "malformed If header")
        pos = m.end()
        coded, open_, close, etag, not_ = m.groups()
        if current is None:
            if coded:
                if tagged is False:
                    raise DavError(400, "If header mixes tagged and untagged lists")
                tagged, resource = True, coded[1:-1]
            elif open_:
                if tagged is None:
                    tagged = False
                current = []
            else:
                raise DavError(400, "malformed If header")
            continue
        if close:
            if not current or negate:
                raise DavError(400, "empty or dangling condition list in If header")
            lists.append(IfList(resource, tuple(current)))
            current = None
        elif not_:
            if negate:
                raise DavError(400, "double Not in If header")
            negate = True
        elif coded:
            current.append(Condition(negate, token=coded[1:-1]))
            negate = False
        elif etag:
            current.append(Condition(negate, etag=etag[1:-1]))
            negate = False
        else:
            raise DavError(400, "malformed If header")
    if current is not None or not lists:
        raise DavError(400, "malformed If header")
    return lists


def tokens(lists: list[IfList]) -> set[str]:
    """Every lock token named anywhere in the header counts as submitted (RFC 4918 §10.4.1)."""
    return {c.token for lst in lists for c in lst.conditions if c.token and not c.negate}


@dataclass(frozen=True)
class State:
    """What a condition is checked against: the resource's etag (None if unmapped) and its lock tokens."""

    etag: str | None
    lock_tokens: frozenset[str]


def _holds(cond: Condition, state: State) -> bool:
    if cond.token is not None:
        ok = cond.token in state.lock_tokens
    else:
        assert cond.etag is not None
        ok = state.etag is not None and cond.etag.removeprefix("W/") == state.etag
    return ok != cond.negate


def resources(lists: list[IfList]) -> set[str | None]:
    """The resources whose state the header asks about (None: the request URL)."""
    return {lst.resource for lst in lists}


def evaluate(lists: list[IfList], states: Mapping[str | None, State]) -> bool:
    """True when some list holds for its resource; `states[None]` is the request resource's state."""
    return any(all(_holds(c, states[lst.resource]) for c in lst.conditions) for lst in lists)
