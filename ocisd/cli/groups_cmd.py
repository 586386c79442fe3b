"""`ocis groups add|list|add-member|remove-member|delete`."""

from __future__ import annotations

import argparse
from typing import Any

import grpc
import grpc.aio

from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.cli import remote
from ocisd.cli.command import Command, print_json, print_table
from ocisd.rpc.client import RpcClients


def _groups(rpc: RpcClients) -> Any:
    return rpc.stub("groups", groups_pb2_grpc.GroupsStub)


async def _find_group(rpc: RpcClients, ref: str) -> groups_pb2.Group:
    try:
        return await _groups(rpc).GetGroup(groups_pb2.GetGroupRequest(name=ref))
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
    try:
        return await _groups(rpc).GetGroup(groups_pb2.GetGroupRequest(id=ref))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise remote.CliError(f"no group named {ref!r}") from None
        raise


def _add(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        group = await _groups(rpc).CreateGroup(
            groups_pb2.CreateGroupRequest(name=args.name, display_name=args.display_name)
        )
        print(f"created group {group.name} (id {group.id})")
        return 0

    return act


def _list(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        users = rpc.stub("users", users_pb2_grpc.UsersStub)
        rows = []
        for group in (await _groups(rpc).ListGroups(groups_pb2.ListGroupsRequest(query=args.query))).groups:
            ids = (await _groups(rpc).ListMembers(groups_pb2.ListMembersRequest(group_id=group.id))).user_ids
            names = []
            for user_id in ids:
                try:
                    names.append((await users.GetUser(users_pb2.GetUserRequest(id=user_id))).username)
                except grpc.aio.AioRpcError:
                    names.append(user_id)
            rows.append({**remote.as_dict(group, ("id", "name", "display_name")), "members": names})
        if args.json:
            print_json(rows)
        else:
            print_table(
                [{**r, "members": ",".join(r["members"])} for r in rows], ["id", "name", "display_name", "members"]
            )
        return 0

    return act


def _membership(add: bool) -> Any:
    def build(args: argparse.Namespace) -> remote.Action:
        async def act(rpc: RpcClients) -> int:
            group = await _find_group(rpc, args.group)
            user = await remote.find_user(rpc, args.user)
            request = groups_pb2.MemberRequest(group_id=group.id, user_id=user.id)
            if add:
                await _groups(rpc).AddMember(request)
                print(f"added {user.username} to {group.name}")
            else:
                await _groups(rpc).RemoveMember(request)
                print(f"removed {user.username} from {group.name}")
            return 0

        return act

    return build


def _delete(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        group = await _find_group(rpc, args.group)
        await _groups(rpc).DeleteGroup(groups_pb2.DeleteGroupRequest(id=group.id))
        print(f"deleted group {group.name}")
        return 0

    return act


def _setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(metavar="ACTION", required=True)
    a = sub.add_parser("add", help="create a group")
    a.add_argument("name")
    a.add_argument("--display-name", default="")
    a.set_defaults(action=_add)
    a = sub.add_parser("list", help="list groups with their members")
    a.add_argument("--query", default="", help="only groups whose name contains this")
    a.add_argument("--json", action="store_true")
    a.set_defaults(action=_list)
    for name, add in (("add-member", True), ("remove-member", False)):
        a = sub.add_parser(name, help=f"{name.replace('-member', '')} a user {'to' if add else 'from'} a group")
        a.add_argument("group", help="group name or id")
        a.add_argument("user", help="username or id")
        a.set_defaults(action=_membership(add))
    a = sub.add_parser("delete", help="delete a group (its members stay users)")
    a.add_argument("group", help="group name or id")
    a.set_defaults(action=_delete)


def _run(args: argparse.Namespace) -> int:
    return remote.execute(args, ("users", "groups"))


COMMAND = Command("groups", "manage groups and memberships (over gRPC, as the admin)", _setup, _run)
