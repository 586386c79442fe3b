"""The routes of the Libre Graph API under /graph/."""

from __future__ import annotations

from aiohttp import web

from ocisd.extension import Context

from .directory import Directory
from .drives import Drives
from .errors import graph_errors
from .me import Me
from .roles import Authority

V1 = "/graph/v1.0"
BETA = "/graph/v1beta1"


def make_app(ctx: Context) -> web.Application:
    rpc = ctx.rpc
    authority = Authority(rpc, ctx.shared)
    directory = Directory(rpc, authority)
    me = Me(rpc, directory)
    app = web.Application(middlewares=[graph_errors])
    r = app.router
    r.add_get(f"{V1}/me", me.get)
    r.add_patch(f"{V1}/me", me.patch)
    r.add_post(f"{V1}/me/changePassword", me.change_password)

    r.add_get(f"{V1}/users", directory.list_users)
    r.add_post(f"{V1}/users", directory.create_user)
    r.add_get(f"{V1}/users/{{id}}", directory.get_user)
    r.add_patch(f"{V1}/users/{{id}}", directory.update_user)
    r.add_delete(f"{V1}/users/{{id}}", directory.delete_user)

    r.add_get(f"{V1}/groups", directory.list_groups)
    r.add_post(f"{V1}/groups", directory.create_group)
    r.add_get(f"{V1}/groups/{{id}}", directory.get_group)
    r.add_patch(f"{V1}/groups/{{id}}", directory.update_group)
    r.add_delete(f"{V1}/groups/{{id}}", directory.delete_group)
    r.add_get(f"{V1}/groups/{{id}}/members", directory.list_members)
    r.add_post(f"{V1}/groups/{{id}}/members/$ref", directory.add_member)
    r.add_delete(f"{V1}/groups/{{id}}/members/{{user}}/$ref", directory.remove_member)

    drives = Drives(rpc, directory, ctx.shared.url)
    r.add_get(f"{V1}/me/drives", drives.my_drives)
    r.add_get(f"{V1}/drives", drives.all_drives)
    r.add_post(f"{V1}/drives", drives.create_drive)
    r.add_get(f"{V1}/drives/{{id}}", drives.get_drive)
    r.add_patch(f"{V1}/drives/{{id}}", drives.update_drive)
    r.add_delete(f"{V1}/drives/{{id}}", drives.delete_drive)
    for version in (V1, BETA):
        r.add_post(f"{version}/drives/{{id}}/root/invite", drives.invite)
        r.add_get(f"{version}/drives/{{id}}/root/permissions", drives.list_permissions)
        r.add_delete(f"{version}/drives/{{id}}/root/permissions/{{perm}}", drives.remove_permission)
    return app
