"""Who may do what to a node: the space owner everything, anyone else what their grants give.

A caller other than the owner reaches a node only by node-id reference (`path`
relative below it) and holds the union of the unexpired grants for their user
id or one of their `group_ids` on the target and its ancestors. A public-link
identity (`scope`) holds exactly its scope's bits on that resource and below,
and nothing anywhere else. No bits at all answers NOT_FOUND (existence stays
hidden); some bits but not the needed ones PERMISSION_DENIED. Callers without
READ (file drop) may see the node they were given (Stat; an empty listing), and
an upload onto a name they cannot read answers ALREADY_EXISTS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ocisd.api.sharing.v1.permissions import CREATE, READ, UPDATE
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import split_id
from ocisd.identity import Identity
from ocisd.storage.resources import Grant, Node, Reach, Ref, UploadOptions

from .info import resource_info

# What an operation needs besides ownCloud's bits (never granted, so only the owner holds them):
OWNER = 1 << 5  # the space's own business: its trash bin
PUT = 1 << 6  # a write at the target: CREATE when it is new, UPDATE when it exists
LOOK = 1 << 7  # Stat/List: READ, or (without it) the node the grant or scope sits on itself
ANY = 0  # some bits on the target, whichever


@dataclass(frozen=True)
class Access:
    """A reference the caller may use for the operation it was checked for."""

    ref: Ref
    who: Identity
    owner: str  # the space owner
    bits: int | None = None  # None: the owner (everything, and no query paid to know it)
    target: Node | None = None  # for others: the target, if it exists

    def info(self, node: Node) -> pb.ResourceInfo:
        return resource_info(node, self.owner, self.bits)

    def may_read(self) -> bool:
        return self.bits is None or bool(self.bits & READ)

    def upload_options(self, opts: UploadOptions) -> UploadOptions:
        """Bind a checked upload to what was checked: it may not turn into a write the grant lacks
        by the time its bytes arrive (a new file appearing, or the file being replaced meanwhile)."""
        if self.bits is None:
            return opts
        if self.target is None and not self.bits & UPDATE:
            return replace(opts, if_none_match=True)
        if self.target is not None and not self.bits & CREATE and not opts.if_match:
            return replace(opts, if_match=self.target.etag)
        return opts


def _mine(who: Identity, g: Grant, now: float) -> bool:
    named = g.grantee == who.user_id if g.grantee_type == "user" else g.grantee in who.group_ids
    return named and (g.expires == 0 or g.expires > now)


def own_grants(who: Identity, grants: list[Grant]) -> dict[str, int]:
    """Node id → the bits the caller's own unexpired grants give on that very node."""
    now = time.time()
    out: dict[str, int] = {}
    for g in grants:
        if who.scope is None and _mine(who, g, now):
            out[g.node] = out.get(g.node, 0) | g.bits
    return out


def held(who: Identity, reach: Reach, now: float) -> tuple[int, bool]:
    """The caller's bits on the way `reach` describes, and whether their grant (or scope) sits on its
    deepest existing node itself."""
    here = reach.chain[0]
    if who.scope is not None:
        _, scope_node = split_id(who.scope.resource)
        return (who.scope.bits, scope_node == here) if scope_node in reach.chain else (0, False)
    bits, on_it = 0, False
    for g in reach.grants:
        if _mine(who, g, now):
            bits |= g.bits
            on_it = on_it or g.node == here
    return bits, on_it


def check(ref: Ref, who: Identity, owner: str, reach: Reach, need: int) -> Access:
    """The access of a caller other than the owner, or the error the operation answers."""
    bits, on_it = held(who, reach, time.time())
    if not bits:
        raise errors.not_found("no such resource")
    target = reach.target
    access = Access(ref, who, owner, bits, target)
    if need == LOOK:
        if bits & READ or (on_it and target is not None):
            return access
        raise errors.not_found("no such resource")
    if need & PUT:
        need = need & ~PUT | (UPDATE if target is not None else CREATE)
    missing = need & ~bits
    if not missing:
        return access
    if not bits & READ:
        if missing & UPDATE and target is not None:
            raise errors.exists("the name is taken")  # a file drop picks another name
        if need & READ:
            raise errors.not_found("no such resource")
    raise errors.forbidden("the share does not allow this")
