"""OCS provisioning routes under /ocs/v1.php and /ocs/v2.php (admin only but the signing key)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc.aio
from aiohttp import web

from ocisd import authz, identity
from ocisd.config.shared import SharedConfig
from ocisd.ocs import UNAUTHORISED, respond
from ocisd.rpc.client import RpcClients

from .provisioning import OcsFailure, Provisioning, failure_of, user_data
from .sharees import Sharees
from .shares import API, ShareApi, add_routes, answering

PREFIXES = ("/ocs/v1.php", "/ocs/v2.php")
ROUTES = tuple(f"{p}/cloud/{what}" for p in PREFIXES for what in ("users", "groups", "user/signing-key"))
ROUTES += tuple(f"{p}/{API}/{what}" for p in PREFIXES for what in ("shares", "sharees"))
Handler = Callable[[web.Request], Awaitable[Any]]


def signing_key(shared: SharedConfig, user_id: str) -> str:
    """A per-user key for signing URLs, derived so that nothing needs storing."""
    return hmac.new(shared.jwt_secret.encode(), f"ocs-signing-key:{user_id}".encode(), hashlib.sha256).hexdigest()


def make_app(rpc: RpcClients, shared: SharedConfig) -> web.Application:
    prov = Provisioning(rpc)

    def admin(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Run `fn` for the admin only; its result becomes the envelope's data."""

        async def handle(request: web.Request) -> web.Response:
            if not authz.is_privileged(identity.CURRENT.get(), shared):
                return respond(request, None, UNAUTHORISED, "admin only")
            try:
                return respond(request, await fn(request))
            except OcsFailure as exc:
                return respond(request, None, exc.code, str(exc))
            except grpc.aio.AioRpcError as exc:
                failure = failure_of(exc)
                return respond(request, None, failure.code, str(failure))

        return handle

    async def form(request: web.Request) -> Any:
        return await request.post()

    async def list_users(r: web.Request) -> Any:
        return {"users": await prov.list_users(r.query.get("search", ""))}

    async def create_user(r: web.Request) -> Any:
        f = await form(r)
        groups = [str(g) for g in f.getall("groups[]", [])]
        await prov.create_user(
            str(f.get("userid", "")),
            str(f.get("password", "")),
            str(f.get("email", "")),
            str(f.get("displayname", "")),
            groups,
        )
        return {}

    async def get_user(r: web.Request) -> Any:
        user = await prov.user(r.match_info["name"])
        return user_data(user, await prov.quota(user))

    async def edit_user(r: web.Request) -> Any:
        f = await form(r)
        await prov.edit_user(r.match_info["name"], str(f.get("key", "")), str(f.get("value", "")))
        return {}

    async def enable(r: web.Request) -> Any:
        await prov.set_enabled(r.match_info["name"], True)
        return {}

    async def disable(r: web.Request) -> Any:
        await prov.set_enabled(r.match_info["name"], False)
        return {}

    async def delete_user(r: web.Request) -> Any:
        await prov.delete_user(r.match_info["name"])
        return {}

    async def user_groups(r: web.Request) -> Any:
        return {"groups": await prov.groups_of(r.match_info["name"])}

    async def add_to_group(r: web.Request) -> Any:
        await prov.membership(r.match_info["name"], str((await form(r)).get("groupid", "")), True)
        return {}

    async def remove_from_group(r: web.Request) -> Any:
        group = r.query.get("groupid") or str((await form(r)).get("groupid", ""))
        await prov.membership(r.match_info["name"], group, False)
        return {}

    async def list_groups(r: web.Request) -> Any:
        return {"groups": await prov.list_groups(r.query.get("search", ""))}

    async def create_group(r: web.Request) -> Any:
        await prov.create_group(str((await form(r)).get("groupid", "")))
        return {}

    async def group_members(r: web.Request) -> Any:
        return {"users": await prov.members(r.match_info["group"])}

    async def delete_group(r: web.Request) -> Any:
        await prov.delete_group(r.match_info["group"])
        return {}

    async def get_signing_key(r: web.Request) -> web.Response:
        who = identity.CURRENT.get()
        if who is None:
            return respond(r, None, UNAUTHORISED)
        return respond(r, {"user": who.username, "signing-key": signing_key(shared, who.user_id)})

    sharees = Sharees(rpc, shared)
    app = web.Application()
    for p in PREFIXES:
        app.router.add_get(f"{p}/cloud/users", admin(list_users))
        app.router.add_post(f"{p}/cloud/users", admin(create_user))
        app.router.add_get(f"{p}/cloud/users/{{name}}", admin(get_user))
        app.router.add_put(f"{p}/cloud/users/{{name}}", admin(edit_user))
        app.router.add_delete(f"{p}/cloud/users/{{name}}", admin(delete_user))
        app.router.add_put(f"{p}/cloud/users/{{name}}/enable", admin(enable))
        app.router.add_put(f"{p}/cloud/users/{{name}}/disable", admin(disable))
        app.router.add_get(f"{p}/cloud/users/{{name}}/groups", admin(user_groups))
        app.router.add_post(f"{p}/cloud/users/{{name}}/groups", admin(add_to_group))
        app.router.add_delete(f"{p}/cloud/users/{{name}}/groups", admin(remove_from_group))
        app.router.add_get(f"{p}/cloud/groups", admin(list_groups))
        app.router.add_post(f"{p}/cloud/groups", admin(create_group))
        app.router.add_get(f"{p}/cloud/groups/{{group}}", admin(group_members))
        app.router.add_delete(f"{p}/cloud/groups/{{group}}", admin(delete_group))
        app.router.add_get(f"{p}/cloud/user/signing-key", get_signing_key)
        app.router.add_get(f"{p}/{API}/sharees", answering(sharees.search))
    add_routes(app, PREFIXES, ShareApi(rpc, shared.url))
    return app
