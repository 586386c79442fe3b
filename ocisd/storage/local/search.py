"""Search in the node table: names containing a pattern, favorites, below a folder, paged.

One SQL query over the space's nodes answers it (a recursive query narrows it
to a subfolder), so a search never walks the tree through the API. Names are
compared case-folded (Unicode, not only ASCII) by a function registered on
the connection; matches come ordered by name, then id, so pages are stable.
"""

from __future__ import annotations

import sqlite3

from ocisd.api.storage.v1 import errors
from ocisd.storage.resources import Node, Ref

from . import tree
from .locate import locate_existing

FAVORITE = "{http://owncloud.org/ns}favorite"  # PROPPATCH oc:favorite keeps "1"/"0" here


def search(
    db: sqlite3.Connection, ref: Ref, pattern: str, favorites: bool, limit: int, offset: int
) -> tuple[list[Node], int]:
    """The page of matches (with their paths) and how many there are in all."""
    scope = locate_existing(db, ref).existing()
    if not scope.is_folder:
        raise errors.precondition("not-a-container", f"{ref.path} is not a folder")
    db.create_function("casefold", 1, _fold, deterministic=True)
    where, args = ["space=?", "id<>?"], [scope.space, scope.id]
    if scope.parent is not None:  # a subfolder: its subtree only
        where.append(
            "id IN (WITH RECURSIVE down(id) AS (SELECT CAST(? AS TEXT) UNION ALL"
            " SELECT n.id FROM nodes n JOIN down ON n.parent = down.id) SELECT id FROM down)"
        )
        args.append(scope.id)
    if pattern:
        where.append("instr(casefold(name), ?) > 0")
        args.append(pattern.casefold())
    if favorites:
        where.append(f"json_extract(props, '$.\"{FAVORITE}\"') = '1'")
    cond = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM nodes WHERE {cond}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT id FROM nodes WHERE {cond} ORDER BY casefold(name), id LIMIT ? OFFSET ?", [*args, limit, offset]
    )
    found = [node for (node_id,) in rows.fetchall() if (node := tree.get(db, node_id)) is not None]
    for node in found:
        node.path = tree.path_of(db, node.id)
    return found, total


def _fold(name: str | None) -> str:
    return name.casefold() if name else ""
