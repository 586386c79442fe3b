"""The space methods of the Storage service (mixed into `grpc.StorageService`): graph's drives.

A personal space belongs to its owner; a project space has no owner and its
members are the grants on its root (a manager holds all 31 bits there). Creating
spaces, listing every space and setting quotas are for service identities (graph
checks the caller's settings permission first). A disabled space is listed to
its managers only; everything else answers FAILED_PRECONDITION "disabled" to them
and NOT_FOUND to anyone else (`disabled_error`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import grpc.aio

from ocisd.api.sharing.v1.contract import RESOURCES_DELETED
from ocisd.api.sharing.v1.permissions import ALL
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import PERSONAL, PROJECT, caller, external_id, handled
from ocisd.identity import Identity
from ocisd.storage.driver import Base
from ocisd.storage.resources import Grant, Space, SpaceState

from .access import own_grants
from .info import resource_info
from .spaces import SpacePolicy

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
SPACE_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
MAX_NAME = 255
MAX_DESCRIPTION = 4096
TYPES = ("", PERSONAL, PROJECT)
# Bus events (graph and sse may follow them): {"space_id", "type"}.
SPACE_CREATED = "space-created"
SPACE_DISABLED = "space-disabled"
SPACE_RESTORED = "space-restored"
SPACE_PURGED = "space-purged"


class Servicer(Protocol):
    """What the methods below use of the servicer they are mixed into."""

    _driver: Base
    _spaces: SpacePolicy
    _known: dict[str, Space]
    _holds: Callable[[str], bool]
    _provider_id: str
    _publish: Callable[[str, dict[str, Any]], None]


def _grantees(who: Identity) -> list[tuple[str, str]]:
    if who.service or who.scope is not None:
        return []
    return [("user", who.user_id), *(("group", g) for g in who.group_ids)]


def root_bits(who: Identity, space: Space, members: list[Grant]) -> int:
    """The caller's bits on the space root: all for a service or the owner, else their root grants'."""
    if who.service or (space.owner and space.owner == who.user_id):
        return ALL
    return own_grants(who, members).get(space.id, 0) if who.scope is None else 0


def disabled_error(who: Identity, space: Space, members: list[Grant]) -> errors.StorageError:
    """What touching a disabled space answers: its managers learn why, anyone else that it is not there."""
    if root_bits(who, space, members) == ALL:
        return errors.precondition("disabled", f"space {space.id} is disabled")
    return errors.not_found("no such space")


def _visible(who: Identity, st: SpaceState, bits: int) -> bool:
    if who.service:
        return True
    return bits > 0 and (not st.space.disabled or bits == ALL)


def _text(value: str, most: int, reason: str, empty_ok: bool = False) -> str:
    if not (empty_ok or value) or len(value) > most:
        raise errors.invalid(reason, f"must be {0 if empty_ok else 1} to {most} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise errors.invalid(reason, "control characters are not allowed")
    return value


def slug(name: str) -> str:
    """A name as an alias part: lower-case letters, digits and dashes."""
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")


async def _states(
    servicer: Servicer, ids: list[str], who: Identity, every: bool = False, memberships: bool = True
) -> list[tuple[SpaceState, int]]:
    """The spaces named (and those the caller is a member of), as far as the caller may see them."""
    found = await servicer._driver.space_states(ids, _grantees(who) if memberships else [], every)
    out = [(st, root_bits(who, st.space, st.members)) for st in found]
    return [(st, bits) for st, bits in out if _visible(who, st, bits)]


async def _home_ids(servicer: Servicer, who: Identity) -> list[str]:
    """The caller's personal space when this instance holds it (made on first use, its name kept
    as the caller's display name)."""
    if who.service or who.scope is not None:
        return []
    space_id, owner = servicer._spaces.home(who)
    if not servicer._holds(space_id):
        return []
    await servicer._driver.ensure_space(space_id, owner)
    space = await servicer._driver.space(space_id)
    facts = {"name": who.display_name, "alias": f"{PERSONAL}/{who.username}"}
    if space is not None and space.owner == owner and (space.name, space.alias) != tuple(facts.values()):
        await servicer._driver.update_space(space_id, facts)
        servicer._known.pop(space_id, None)
    return [space_id]


async def _free(servicer: Servicer, found: list[tuple[SpaceState, int]]) -> int:
    """The disk's free bytes (what unlimited spaces report as remaining), asked once per answer."""
    return await servicer._driver.free_bytes() if any(st.total <= 0 for st, _ in found) else 0


def _message(servicer: Servicer, st: SpaceState, bits: int, free: int) -> pb.Space:
    space = st.space
    remaining = max(st.total - st.used, 0) if st.total > 0 else free
    quota = pb.GetQuotaResponse(
        total=max(st.total, 0), used=st.used, remaining=remaining, unlimited=st.total <= 0,
        inherited=space.quota < 0,
    )  # fmt: skip
    root = resource_info(st.root, space.owner, None if bits == ALL and space.owner else bits)
    return pb.Space(
        id=space.id, type=space.type, name=space.name, description=space.description, alias=space.alias,
        owner_id=space.owner, disabled=space.disabled, quota=quota, root=root, mtime_ns=st.root.mtime,
        provider_id=servicer._provider_id,
    )  # fmt: skip


async def _one(servicer: Servicer, space_id: str) -> tuple[Identity, SpaceState, int]:
    who = caller()
    if not space_id:
        raise errors.invalid("bad-id", "space_id is required")
    if who.scope is None and not who.service and space_id == servicer._spaces.home(who)[0]:
        await _home_ids(servicer, who)  # the caller's own, made on first use
    found = await _states(servicer, [space_id], who, memberships=False)
    if not found:
        raise errors.not_found("no such space")
    return who, *found[0]


async def _reply(servicer: Servicer, space_id: str) -> pb.SpaceResponse:
    _, st, bits = await _one(servicer, space_id)
    return pb.SpaceResponse(space=_message(servicer, st, bits, await _free(servicer, [(st, bits)])))


def _event(servicer: Servicer, name: str, space: Space) -> None:
    servicer._known.pop(space.id, None)
    servicer._publish(name, {"space_id": space.id, "type": space.type})


class SpaceMethods:
    @handled
    async def CreateSpace(self: Servicer, request: pb.CreateSpaceRequest, context: Ctx) -> pb.SpaceResponse:
        if not caller().service:
            raise errors.forbidden("only services create spaces")
        space_id = request.space_id
        if not SPACE_ID.fullmatch(space_id) or not self._holds(space_id):
            raise errors.invalid("bad-id", "space_id must be 1-128 letters, digits, '-', '_' and of this provider")
        name = _text(request.name, MAX_NAME, "bad-name")
        description = _text(request.description, MAX_DESCRIPTION, "bad-description", empty_ok=True)
        alias = _text(request.alias, MAX_NAME, "bad-alias", empty_ok=True) or f"{PROJECT}/{slug(name) or space_id}"
        if request.quota < 0:
            raise errors.invalid("bad-quota", "quota must be 0 (the default) or a number of bytes")
        quota = request.quota or int(self._driver.config.quota)
        manager = None
        if request.manager_id:
            user = _text(request.manager_id, MAX_NAME, "bad-manager")
            manager = Grant("user", user, ALL, 0, caller().user_id)
        space = Space(space_id, "", quota, PROJECT, name, description, alias)
        await self._driver.create_space(space, manager)
        _event(self, SPACE_CREATED, space)
        return await _reply(self, space_id)

    @handled
    async def ListSpaces(self: Servicer, request: pb.ListSpacesRequest, context: Ctx) -> pb.ListSpacesResponse:
        who = caller()
        if request.all and not who.service:
            raise errors.forbidden("only services list every space")
        if request.type not in TYPES:
            raise errors.invalid("bad-type", "type must be '', 'personal' or 'project'")
        if who.scope is not None:
            raise errors.forbidden("a public link has no spaces")
        ids = await _home_ids(self, who)
        found = await _states(self, ids, who, request.all)
        found = [(st, bits) for st, bits in found if request.type in ("", st.space.type)]
        free = await _free(self, found)
        return pb.ListSpacesResponse(spaces=[_message(self, st, bits, free) for st, bits in found])

    @handled
    async def GetSpace(self: Servicer, request: pb.GetSpaceRequest, context: Ctx) -> pb.SpaceResponse:
        return await _reply(self, request.space_id)

    @handled
    async def UpdateSpace(self: Servicer, request: pb.UpdateSpaceRequest, context: Ctx) -> pb.SpaceResponse:
        who, st, bits = await _one(self, request.space_id)
        changes: dict[str, Any] = {}
        if request.HasField("name"):
            changes["name"] = _text(request.name, MAX_NAME, "bad-name")
        if request.HasField("description"):
            changes["description"] = _text(request.description, MAX_DESCRIPTION, "bad-description", empty_ok=True)
        if request.HasField("alias"):
            changes["alias"] = _text(request.alias, MAX_NAME, "bad-alias")
        if request.HasField("quota"):
            if not who.service:
                raise errors.forbidden("only services set quotas")
            if request.quota < 0:
                raise errors.invalid("bad-quota", "quota must be 0 (unlimited) or a number of bytes")
            changes["quota"] = request.quota
        if bits != ALL:
            raise errors.forbidden("only the space's managers change it")
        if st.space.disabled and not request.restore:
            raise errors.precondition("disabled", f"space {st.space.id} is disabled")
        if request.restore and st.space.disabled:
            changes["disabled"] = False
        if changes:
            await self._driver.update_space(st.space.id, changes)
            self._known.pop(st.space.id, None)
        if "disabled" in changes:
            _event(self, SPACE_RESTORED, st.space)
        return await _reply(self, st.space.id)

    @handled
    async def DeleteSpace(self: Servicer, request: pb.DeleteSpaceRequest, context: Ctx) -> pb.DeleteSpaceResponse:
        who, st, bits = await _one(self, request.space_id)
        space = st.space
        if space.type != PROJECT and not who.service:
            raise errors.forbidden("a personal space is not deleted this way")
        if bits != ALL:
            raise errors.forbidden("only the space's managers delete it")
        if not request.purge:
            if not space.disabled:
                await self._driver.update_space(space.id, {"disabled": True})
                _event(self, SPACE_DISABLED, space)
            return pb.DeleteSpaceResponse()
        if not space.disabled:
            raise errors.precondition("not-disabled", "only a disabled space is purged")
        granted = await self._driver.purge_space(space.id)
        _event(self, SPACE_PURGED, space)
        if granted:
            self._publish(RESOURCES_DELETED, {"resource_ids": [external_id(space.id, n) for n in granted]})
        return pb.DeleteSpaceResponse()
