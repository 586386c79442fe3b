"""`apps/files_sharing/api/v1/sharees`: users and groups to share with, exact matches apart, as ownCloud answers.

Listing users is an admin call in `users`, so it runs as the system identity;
only names and display names leave here. The caller is never offered to themselves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ocisd import authz, identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.config.shared import SharedConfig
from ocisd.rpc.client import RpcClients

MAX_PER_PAGE = 200


class Sharees:
    def __init__(self, rpc: RpcClients, shared: SharedConfig) -> None:
        self._users: Any = rpc.stub("users", users_pb2_grpc.UsersStub)
        self._groups: Any = rpc.stub("groups", groups_pb2_grpc.GroupsStub)
        self._shared = shared

    async def search(self, request: web.Request) -> Any:
        search = request.query.get("search", "").strip()
        per_page = int(request.query["perPage"]) if request.query.get("perPage", "").isdigit() else MAX_PER_PAGE
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        me = identity.CURRENT.get()
        groups = (await self._groups.ListGroups(groups_pb2.ListGroupsRequest(query=search))).groups
        with authz.acting_as(authz.system_token(self._shared)):
            users = (await self._users.ListUsers(users_pb2.ListUsersRequest(query=search))).users
        key = search.casefold()
        found: dict[str, Any] = {
            "exact": {"users": [], "groups": [], "remotes": []},
            "users": [],
            "groups": [],
            "remotes": [],
        }
        for u in users:
            if me is not None and u.id == me.user_id:
                continue
            entry = {"label": u.display_name or u.username, "value": {"shareType": 0, "shareWith": u.username}}
            exact = key in (u.username.casefold(), (u.display_name or "").casefold(), u.email.casefold())
            (found["exact"]["users"] if exact else found["users"]).append(entry)
        for g in groups:
            entry = {"label": g.display_name or g.name, "value": {"shareType": 1, "shareWith": g.name}}
            exact = key in (g.name.casefold(), (g.display_name or "").casefold())
            (found["exact"]["groups"] if exact else found["groups"]).append(entry)
        found["users"] = found["users"][:per_page]
        found["groups"] = found["groups"][:per_page]
        return found
