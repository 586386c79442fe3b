"""The grant methods of the Storage service (mixed into `grpc.StorageService`).

The owner may grant anything that applies to the node; a grantee holding SHARE
there may pass on at most the bits they hold (a reshare), and remove only the
grants they added (a project space's managers: any). A public-link identity
grants nothing. A project space's root carries its members' grants.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.permissions import ALL, SHARE, applicable, within
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import handled
from ocisd.storage.driver import Base
from ocisd.storage.resources import Grant

from .access import Access, own_grants

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
GRANTEE_TYPES = ("user", "group")
MAX_GRANTEE_ID = 255


class Servicer(Protocol):
    """What the methods below use of the servicer they are mixed into."""

    _driver: Base

    async def _ref(self, ref: pb.Reference, need: int = ...) -> Access: ...


def _grantee(g: pb.Grantee) -> tuple[str, str]:
    if g.type not in GRANTEE_TYPES:
        raise errors.invalid("bad-grantee", "grantee type must be 'user' or 'group'")
    if not g.id or len(g.id) > MAX_GRANTEE_ID or "\x00" in g.id:
        raise errors.invalid("bad-grantee", "grantee id must be 1 to 255 characters")
    return g.type, g.id


async def _sharer(servicer: Servicer, ref: pb.Reference) -> Access:
    a = await servicer._ref(ref, SHARE)
    if a.who.scope is not None:
        raise errors.forbidden("a public link cannot share")
    return a


async def _only_own(servicer: Servicer, a: Access, kind: str, grantee: str) -> None:
    """A resharer replaces or removes only the grants they added; the owner, and a project space's managers
    (all bits by a grant on its root, which has no owner), any."""
    if a.bits is None:
        return
    if not a.owner and own_grants(a.who, await servicer._driver.grants_on([a.ref.space])).get(a.ref.space) == ALL:
        return
    for g in await servicer._driver.grants(a.ref):
        if (g.grantee_type, g.grantee) == (kind, grantee) and g.creator != a.who.user_id:
            raise errors.forbidden("only the owner changes grants others added")


def grant_message(g: Grant) -> pb.Grant:
    return pb.Grant(
        grantee=pb.Grantee(type=g.grantee_type, id=g.grantee),
        permissions=g.bits,
        expires=g.expires,
        creator_id=g.creator,
    )


class GrantMethods:
    @handled
    async def AddGrant(self: Servicer, request: pb.AddGrantRequest, context: Ctx) -> pb.AddGrantResponse:
        a = await _sharer(self, request.ref)
        kind, grantee = _grantee(request.grant.grantee)
        bits, expires = request.grant.permissions, request.grant.expires
        node = a.target or await self._driver.stat(a.ref)
        if not 0 < bits <= ALL or applicable(bits, node.is_folder) != bits:
            raise errors.invalid("bad-permissions", "permissions must be 1-31, on a file only read, update, share")
        if expires < 0 or 0 < expires <= time.time():
            raise errors.invalid("bad-expiry", "expires must be 0 (never) or in the future")
        if kind == "user" and grantee == a.owner:
            raise errors.invalid("bad-grantee", "the owner holds every permission already")
        if a.bits is not None and not within(bits, a.bits):
            raise errors.forbidden("a reshare passes on at most the permissions held")
        await _only_own(self, a, kind, grantee)
        await self._driver.add_grant(a.ref, Grant(kind, grantee, bits, expires, a.who.user_id))
        return pb.AddGrantResponse()

    @handled
    async def RemoveGrant(self: Servicer, request: pb.RemoveGrantRequest, context: Ctx) -> pb.RemoveGrantResponse:
        a = await _sharer(self, request.ref)
        kind, grantee = _grantee(request.grantee)
        await _only_own(self, a, kind, grantee)
        await self._driver.remove_grant(a.ref, kind, grantee)
        return pb.RemoveGrantResponse()

    @handled
    async def ListGrants(self: Servicer, request: pb.ListGrantsRequest, context: Ctx) -> pb.ListGrantsResponse:
        a = await _sharer(self, request.ref)
        return pb.ListGrantsResponse(grants=[grant_message(g) for g in await self._driver.grants(a.ref)])
