"""The OData query options Graph clients send: `$search`, `$filter` (`eq` and `any`), `$select`,
`$orderby`, `$top`, `$skip`, `$count`, `$expand`. Anything else, or a malformed one, is a 400."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request

_STRING = r"'((?:[^']|'')*)'"
_EQ = re.compile(rf"(\w+) eq (?:{_STRING}|(true|false))")
# memberOf/any(m:m/id eq '…'): the only lambda form clients send
_ANY = re.compile(rf"(\w+)/any\((\w+):\2/id eq {_STRING}\)")
_ORDER = re.compile(r"(\w+)(?: (asc|desc))?")
OPTIONS = frozenset({"$search", "$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand"})


@dataclass
class Query:
    search: str = ""
    equals: list[tuple[str, str]] = field(default_factory=list)  # (property, value)
    any_id: list[tuple[str, str]] = field(default_factory=list)  # (collection, id)
    select: tuple[str, ...] = ()
    orderby: tuple[str, bool] | None = None  # (property, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: tuple[str, ...] = ()


def _names(value: str, allowed: frozenset[str], what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if name not in allowed:
            raise bad_request(f"{what}: unknown property {name!r}")
    return names


def _count(value: str, what: str) -> int:
    if not value.isdigit():
        raise bad_request(f"{what} must be a non-negative integer")
    return int(value)


def _filter(text: str, q: Query, fields: frozenset[str], collections: frozenset[str]) -> None:
    for term in re.split(r" and ", text.strip()):
        term = term.strip()
        if m := _EQ.fullmatch(term):
            if m[1] not in fields:
                raise bad_request(f"$filter: unknown property {m[1]!r}")
            q.equals.append((m[1], m[3] or m[2].replace("''", "'")))
        elif (m := _ANY.fullmatch(term)) and m[1] in collections:
            q.any_id.append((m[1], m[3].replace("''", "'")))
        else:
            raise bad_request(f"$filter: unsupported expression {term!r}")


def parse(
    args: Mapping[str, str],
    fields: frozenset[str],
    expandable: frozenset[str] = frozenset(),
    collections: frozenset[str] = frozenset(),
) -> Query:
    """The query options of a request over objects with these `fields`."""
    unknown = sorted(k for k in args if k.startswith("$") and k not in OPTIONS)
    if unknown:
        raise bad_request(f"unsupported query option {unknown[0]}")
    q = Query()
    if "$search" in args:
        term = args["$search"].strip()
        if len(term) >= 2 and term[0] == term[-1] == '"':
            term = term[1:-1]
        q.search = term.strip()
    if "$filter" in args:
        _filter(args["$filter"], q, fields, collections)
    if "$select" in args:
        q.select = _names(args["$select"], fields | expandable, "$select")
    if "$expand" in args:
        q.expand = _names(args["$expand"], expandable, "$expand")
    if "$orderby" in args:
        m = _ORDER.fullmatch(args["$orderby"].strip())
        if m is None or m[1] not in fields:
            raise bad_request(f"$orderby: unsupported {args['$orderby']!r}")
        q.orderby = (m[1], m[2] == "desc")
    if "$top" in args:
        q.top = _count(args["$top"], "$top")
    if "$skip" in args:
        q.skip = _count(args["$skip"], "$skip")
    if "$count" in args:
        if args["$count"] not in ("true", "false"):
            raise bad_request("$count must be true or false")
        q.count = args["$count"] == "true"
    return q


def _key(value: Any) -> Any:
    """What `eq` and `$orderby` compare: text without case (booleans as OData spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.casefold() if isinstance(value, str) else value


def collection(items: list[dict[str, Any]], q: Query) -> dict[str, Any]:
    """A list answer: `$filter` eq terms, `$orderby`, `$count`, `$skip`, `$top`, `$select` applied."""
    for prop, value in q.equals:
        items = [i for i in items if _key(i.get(prop)) == _key(value)]
    if q.orderby is not None:
        prop, desc = q.orderby
        items = sorted(items, key=lambda i: (i.get(prop) is None, _key(i.get(prop) or "")), reverse=desc)
    body: dict[str, Any] = {}
    if q.count:
        body["@odata.count"] = len(items)
    items = items[q.skip :]
    if q.top is not None:
        items = items[: q.top]
    body["value"] = [selected(i, q) for i in items]
    return body


def selected(item: dict[str, Any], q: Query) -> dict[str, Any]:
    """`item` with only the `$select`ed properties (all without `$select`); `id` always stays."""
    if not q.select:
        return item
    return {k: v for k, v in item.items() if k in q.select or k == "id"}
