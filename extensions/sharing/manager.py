"""The share manager: who may share what with whom, kept in a `ShareStore`, enforced by storage grants.

Every storage call goes through the gateway as the caller (their token goes
on): Stat tells whether the resource exists and which bits the caller holds;
user and group shares become grants on the node (AddGrant / RemoveGrant), links
get none (storage-publiclink mints tokens scoped to them). A share is stored
before its grant is added and removed again when the grant fails, so no grant
outlives its share; a removal takes the grant away first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio
from argon2 import PasswordHasher

from ocisd import authz, identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.sharing.v1 import contract
from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1.contract import SharingError, exists, forbidden, invalid, not_found
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.bus.client import BusClient
from ocisd.config.shared import SharedConfig
from ocisd.directory.worker import Worker
from ocisd.rpc.client import RpcClients

from . import rules
from .rules import GROUP, LINK, USER
from .stores import ACCEPTED, Duplicate, Received, ShareRecord, ShareStore

GRANTEE_TYPE = {USER: "user", GROUP: "group"}
_STORAGE_ERRORS = {grpc.StatusCode.NOT_FOUND: "not-found", grpc.StatusCode.PERMISSION_DENIED: "forbidden"}


def caller() -> identity.Identity:
    who = identity.CURRENT.get()
    if who is None or who.service:
        raise forbidden("no-user", "shares are made by users")
    return who


def _failed(exc: grpc.aio.AioRpcError, what: str) -> SharingError:
    """A storage or identity refusal in sharing's terms; anything else passes on as is."""
    kind = _STORAGE_ERRORS.get(exc.code())
    if kind is None:
        raise exc
    return SharingError(kind, kind, f"{what}: {exc.details() or kind}")


class ShareManager:
    def __init__(self, worker: Worker[ShareStore], rpc: RpcClients, bus: BusClient, shared: SharedConfig) -> None:
        self.store = worker.backend
        self._run = worker.run  # every store call, on the store's thread
        self._storage: Any = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self._groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self._bus = bus
        self._shared = shared  # the link password policy
        self._hasher = PasswordHasher()

    async def _stat(self, resource_id: str) -> pb.ResourceInfo:
        if not resource_id:
            raise invalid("bad-resource", "no resource given")
        try:
            reply = await self._storage.Stat(pb.StatRequest(ref=pb.Reference(node_id=resource_id)))
        except grpc.aio.AioRpcError as exc:
            # A resource the caller may not stat does not exist for them (never reveal existence).
            if exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED):
                raise not_found("resource not found") from None
            raise _failed(exc, "resource") from None
        info: pb.ResourceInfo = reply.info
        return info

    async def _check_grantee(self, share_type: int, grantee_id: str, who: identity.Identity, owner: str) -> None:
        if share_type == LINK:
            if grantee_id:
                raise invalid("bad-grantee", "a link has no grantee")
            return
        if not grantee_id:
            raise invalid("bad-grantee", "no user or group to share with")
        if share_type == USER and grantee_id in (who.user_id, owner):
            raise invalid("self-share", "cannot share with yourself or the owner")
        try:
            if share_type == USER:
                await self._users.GetUser(users_pb2.GetUserRequest(id=grantee_id))
            else:
                await self._groups.GetGroup(groups_pb2.GetGroupRequest(id=grantee_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise not_found(f"no such {GRANTEE_TYPE[share_type]}: {grantee_id}") from None
            raise

    async def _grant(self, share: ShareRecord) -> None:
        if share.share_type == LINK:
            return
        grant = pb.Grant(
            grantee=pb.Grantee(type=GRANTEE_TYPE[share.share_type], id=share.grantee_id),
            permissions=share.permissions,
            expires=share.expires,
            creator_id=share.creator_id,
        )
        try:
            await self._storage.AddGrant(pb.AddGrantRequest(ref=pb.Reference(node_id=share.resource_id), grant=grant))
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc, "grant") from None

    async def _revoke(self, share: ShareRecord) -> None:
        if share.share_type == LINK:
            return
        grantee = pb.Grantee(type=GRANTEE_TYPE[share.share_type], id=share.grantee_id)
        try:
            await self._storage.RemoveGrant(
                pb.RemoveGrantRequest(ref=pb.Reference(node_id=share.resource_id), grantee=grantee)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # the resource is gone: so is its grant
                raise _failed(exc, "grant") from None

    async def _password_hash(self, share_type: int, password: str, permissions: int) -> str:
        if share_type != LINK:
            if password:
                raise invalid("bad-password", "only links have passwords")
            return ""
        writeable = bool(permissions & (bits.CREATE | bits.UPDATE | bits.DELETE))
        must = self._shared.sharing_public_share_must_have_password or (
            writeable and self._shared.sharing_public_writeable_share_must_have_password
        )
        if must and not password:
            raise invalid("password-required", "this link needs a password")
        # argon2id takes tens of milliseconds of CPU: not on the event loop.
        return await asyncio.to_thread(self._hasher.hash, password) if password else ""

    async def create(self, request: Any) -> ShareRecord:
        who = caller()
        if request.share_type not in (USER, GROUP, LINK):
            raise invalid("bad-share-type", f"unknown share type {request.share_type}")
        info = await self._stat(request.resource_id)
        is_folder = info.type == pb.RESOURCE_TYPE_CONTAINER
        if not info.parent_id:
            raise forbidden("space-root", "cannot share a space root")
        wanted = rules.wanted_bits(request.permissions, request.share_type, is_folder)
        rules.check_within(wanted, info.permission_bits)
        expires = rules.check_expiry(request.expires)
        await self._check_grantee(request.share_type, request.grantee_id, who, info.owner_id)
        is_link = request.share_type == LINK
        parent = "" if info.owner_id == who.user_id else await self._parent_share(who, info.id)
        record = ShareRecord(
            id="",
            share_type=request.share_type,
            resource_id=info.id,
            owner_id=info.owner_id,
            creator_id=who.user_id,
            grantee_id=request.grantee_id,
            permissions=wanted,
            ctime=int(time.time()),
            expires=expires,
            token=rules.new_token() if is_link else "",
            name=rules.check_name(request.name) if is_link else "",
            password_hash=await self._password_hash(request.share_type, request.password, wanted),
            is_folder=is_folder,
            parent_share_id=parent,
            target=info.name,
        )
        try:
            share = await self._run(self.store.add, record)
        except Duplicate:
            raise exists(f"{info.name} is already shared with this user or group") from None
        try:
            await self._grant(share)
        except BaseException:
            await self._run(self.store.remove, share.id)
            raise
        await self._announce(contract.SHARE_CREATED, share)
        return share

    async def _parent_share(self, who: identity.Identity, resource_id: str) -> str:
        """The received share a reshare is made through, when it is of this very resource."""
        for got in await self.received(who):
            if got.share.resource_id == resource_id:
                return got.share.id
        return ""

    async def _group_ids(self, user_id: str) -> list[str]:
        """Asked each time, so a group share follows membership changes at once."""
        reply = await self._groups.GroupsOfUser(groups_pb2.GroupsOfUserRequest(user_id=user_id))
        return [g.id for g in reply.groups]

    async def _visible(self, share_id: str, who: identity.Identity) -> ShareRecord:
        """The share when the caller created it, owns its resource or receives it; NOT_FOUND otherwise."""
        share = await self._run(self.store.get, share_id)
        if share is None:
            raise not_found()
        if who.user_id in (share.creator_id, share.owner_id) or await self._receives(share, who):
            return share
        raise not_found()

    async def _receives(self, share: ShareRecord, who: identity.Identity) -> bool:
        if share.share_type == USER:
            return share.grantee_id == who.user_id
        if share.share_type == GROUP and who.user_id != share.creator_id:
            return share.grantee_id in await self._group_ids(who.user_id)
        return False

    async def _managed(self, share_id: str, who: identity.Identity) -> ShareRecord:
        share = await self._visible(share_id, who)
        if who.user_id not in (share.creator_id, share.owner_id):
            raise forbidden("not-yours", "only who created the share or owns the resource may change it")
        return share

    async def get(self, share_id: str) -> ShareRecord:
        return await self._visible(share_id, caller())

    async def update(self, request: Any) -> ShareRecord:
        who = caller()
        share = await self._managed(request.id, who)
        changes: dict[str, Any] = {}
        if request.set_permissions:
            info = await self._stat(share.resource_id)
            changes["permissions"] = rules.wanted_bits(request.permissions, share.share_type, share.is_folder)
            rules.check_within(changes["permissions"], info.permission_bits)
        if request.set_expires:
            changes["expires"] = rules.check_expiry(request.expires)
        if share.share_type == LINK and (request.set_password or "permissions" in changes):
            perms = changes.get("permissions", share.permissions)
            if request.set_password:
                changes["password_hash"] = await self._password_hash(LINK, request.password, perms)
            elif not share.password_hash:
                await self._password_hash(LINK, "", perms)  # a link turning writeable may now need one
        elif request.set_password:
            raise invalid("bad-password", "only links have passwords")
        if request.set_name:
            if share.share_type != LINK:
                raise invalid("bad-name", "only links have names")
            changes["name"] = rules.check_name(request.name)
        updated = dataclasses.replace(share, **changes)
        if {"permissions", "expires"} & set(changes):
            await self._grant(updated)
        stored = await self._run(self.store.update, share.id, changes)
        if stored is None:  # removed meanwhile: take back the grant just replaced
            await self._revoke(updated)
            raise not_found()
        await self._announce(contract.SHARE_UPDATED, stored)
        if "permissions" in changes:
            await self._narrow_reshares(stored)
        return stored

    async def remove(self, share_id: str) -> None:
        share = await self._managed(share_id, caller())
        with self._as_owner(share):
            for reshare in await self._run(self.store.reshares_of, share.id):
                await self._remove_with_reshares(reshare)
        await self._revoke(share)
        if await self._run(self.store.remove, share.id) is not None:
            await self._announce(contract.SHARE_REMOVED, share)

    # A reshare never holds more than the share it was made through: it goes with it and
    # narrows with it. Grants others added may be removed only by the owner, so reshares are
    # removed as the owner; narrowed as their creator, who still holds what they pass on.
    def _acting(self, user_id: str) -> authz.acting_as:
        who = identity.Identity(user_id=user_id, username=user_id)
        return authz.acting_as(identity.mint(self._shared.jwt_secret, who), who)

    def _as_owner(self, share: ShareRecord) -> authz.acting_as:
        return self._acting(share.owner_id)

    async def _remove_with_reshares(self, share: ShareRecord) -> None:
        for reshare in await self._run(self.store.reshares_of, share.id):
            await self._remove_with_reshares(reshare)
        await self._revoke(share)
        if await self._run(self.store.remove, share.id) is not None:
            await self._announce(contract.SHARE_REMOVED, share)

    async def _narrow_reshares(self, share: ShareRecord) -> None:
        for reshare in await self._run(self.store.reshares_of, share.id):
            narrowed = reshare.permissions & share.permissions
            unreadable = reshare.share_type != LINK and not narrowed & bits.READ
            if not share.permissions & bits.SHARE or not narrowed or unreadable:
                with self._as_owner(reshare):
                    await self._remove_with_reshares(reshare)
            elif narrowed != reshare.permissions:
                changed = dataclasses.replace(reshare, permissions=narrowed)
                with self._acting(reshare.creator_id):
                    await self._grant(changed)
                stored = await self._run(self.store.update, reshare.id, {"permissions": narrowed})
                if stored is not None:
                    await self._announce(contract.SHARE_UPDATED, stored)
                    await self._narrow_reshares(stored)

    async def created(self, request: Any) -> list[ShareRecord]:
        who = caller()
        ids, types = list(request.resource_ids), list(request.share_types)
        return await self._run(self.store.created, who.user_id, request.reshares, ids, types)

    async def received(self, who: identity.Identity | None = None, states: Sequence[int] = ()) -> list[Received]:
        """The caller's received shares (unexpired), filtered by state when `states` is not empty."""
        who = who or caller()
        now = time.time()
        got = await self._run(self.store.received, who.user_id, await self._group_ids(who.user_id))
        return [
            r for r in got if (not states or r.state in states) and not (r.share.expires and r.share.expires <= now)
        ]

    async def answer(self, share_id: str, state: int, mount_point: str) -> Received:
        who = caller()
        share = await self._run(self.store.get, share_id)
        if share is None or not await self._receives(share, who):
            raise not_found("no such received share")
        if state not in (0, 1, 2):
            raise invalid("bad-state", f"unknown state {state}")
        wanted = rules.check_mount_point(mount_point)
        answered = await self._run(self.store.answer, share.id, who.user_id, state, wanted)
        if answered is None:
            raise not_found()
        event = contract.SHARE_ACCEPTED if state == ACCEPTED else contract.SHARE_UPDATED
        self._publish(event, share, [who.user_id])
        return answered

    async def by_token(self, token: str) -> ShareRecord:
        share = await self._run(self.store.by_token, token) if token else None
        if share is None or (share.expires and share.expires <= time.time()):
            raise not_found("no such link")
        return share

    async def resources_deleted(self, resource_ids: Sequence[str]) -> None:
        for share in await self._run(self.store.remove_resources, resource_ids):
            await self._announce(contract.SHARE_REMOVED, share)

    async def user_deleted(self, user_id: str) -> None:
        """Nobody is left to receive: the shares to a deleted user go (their grants name an id never reused)."""
        for share in await self._run(self.store.forget_user, user_id):
            self._publish(contract.SHARE_REMOVED, share, [])

    async def _recipients(self, share: ShareRecord) -> list[str]:
        if share.share_type == USER:
            return [share.grantee_id]
        if share.share_type == GROUP:
            try:
                reply = await self._groups.ListMembers(groups_pb2.ListMembersRequest(group_id=share.grantee_id))
            except grpc.aio.AioRpcError:
                return []  # the group is gone; nobody receives it any more
            return list(reply.user_ids)
        return []

    async def _announce(self, event: str, share: ShareRecord) -> None:
        self._publish(event, share, await self._recipients(share))

    def _publish(self, event: str, share: ShareRecord, recipients: list[str]) -> None:
        data = {f: getattr(share, f) for f in ("id", "share_type", "resource_id", "owner_id", "creator_id")}
        self._bus.publish_event(event, {**data, "grantee_id": share.grantee_id, "recipients": recipients})
