"""`ocis users add|list|show|set-password|set-quota|set-role|disable|enable|delete`, `ocis users token ...`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, NoReturn

import grpc
import grpc.aio

from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc, users_pb2, users_pb2_grpc
from ocisd.api.settings.v1 import contract as settings_contract
from ocisd.api.settings.v1 import settings_pb2, settings_pb2_grpc
from ocisd.api.settings.v1.client import NAME as SETTINGS
from ocisd.api.storage.v1 import storage_pb2, storage_pb2_grpc
from ocisd.api.storage.v1.contract import home_space_id
from ocisd.cli import remote
from ocisd.cli.command import Command, print_json, print_table
from ocisd.config.schema import format_size, parse_duration, parse_size
from ocisd.rpc.client import RpcClients

USER_FIELDS = ("id", "username", "display_name", "email", "enabled")
TOKEN_FIELDS = ("id", "label", "created", "expires")
ROLE_WAIT = 1.5  # seconds `show` waits for a settings instance it has not heard of yet


def _users(rpc: RpcClients) -> Any:
    return rpc.stub("users", users_pb2_grpc.UsersStub)


def _settings(rpc: RpcClients) -> Any:
    return rpc.stub(SETTINGS, settings_pb2_grpc.SettingsStub)


def _role_name(role_id: str) -> str:
    return next((display for rid, display in settings_contract.ROLES.values() if rid == role_id), role_id)


async def _role_of(rpc: RpcClients, user_id: str) -> str | None:
    """The user's role; None when no settings instance answers soon (`show` works without settings)."""
    # Not yet heard on the bus is not absent: wait a little (a heartbeat), not the full instance wait.
    timeout = None if rpc.targets(SETTINGS) else ROLE_WAIT
    request = settings_pb2.ListRoleAssignmentsRequest(account_id=user_id)
    try:
        reply = await _settings(rpc).ListRoleAssignments(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return None
        raise
    return ", ".join(_role_name(a.role_id) for a in reply.assignments)


def _bad_argument(text: str) -> NoReturn:
    """A usage error, found before anything is asked: exit status 2."""
    print(f"ocis: {text}", file=sys.stderr)
    raise SystemExit(2)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else "never"


def _add(args: argparse.Namespace) -> remote.Action:
    password = remote.read_password(args.password_stdin)

    async def act(rpc: RpcClients) -> int:
        request = users_pb2.CreateUserRequest(
            username=args.username, password=password, display_name=args.display_name, email=args.email
        )
        user = await _users(rpc).CreateUser(request)
        print(f"created user {user.username} (id {user.id})")
        return 0

    return act


def _list(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        reply = await _users(rpc).ListUsers(users_pb2.ListUsersRequest(query=args.query))
        rows = [remote.as_dict(u, USER_FIELDS) for u in reply.users]
        print_json(rows) if args.json else print_table(rows, USER_FIELDS)
        return 0

    return act


def _show(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        groups = await rpc.stub("groups", groups_pb2_grpc.GroupsStub).GroupsOfUser(
            groups_pb2.GroupsOfUserRequest(user_id=user.id)
        )
        row = {**remote.as_dict(user, USER_FIELDS), "created": _when(user.created)}
        row["groups"] = [g.name for g in groups.groups]
        if (role := await _role_of(rpc, user.id)) is not None:
            row["role"] = role
        if args.json:
            print_json(row)
        else:
            for k, v in row.items():
                print(f"{k + ':':14}{', '.join(v) if isinstance(v, list) else v}")
        return 0

    return act


def _set_password(args: argparse.Namespace) -> remote.Action:
    password = remote.read_password(args.password_stdin)

    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        await _users(rpc).SetPassword(users_pb2.SetPasswordRequest(id=user.id, password=password))
        print(f"password of {user.username} changed")
        return 0

    return act


def _set_quota(args: argparse.Namespace) -> remote.Action:
    try:
        total = parse_size(args.size)
    except ValueError:
        _bad_argument(f"SIZE: expected bytes, 10GB, 500MiB, 1.5GB or none, found {args.size!r}")

    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        request = storage_pb2.SetSpaceQuotaRequest(
            ref=storage_pb2.Reference(space_id=home_space_id(user.id)), owner_id=user.id, total=total
        )
        reply = await rpc.stub("gateway", storage_pb2_grpc.StorageStub).SetSpaceQuota(request)
        print(f"quota of {user.username}: {format_size(reply.total)} ({reply.used} bytes used)")
        return 0

    return act


def _set_role(args: argparse.Namespace) -> remote.Action:
    role_id = settings_contract.role_id(args.role)
    if role_id is None:
        names = ", ".join(f"{name} ({display})" for name, (_, display) in settings_contract.ROLES.items())
        _bad_argument(f"ROLE: no role {args.role!r}; one of {names}")

    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        await _settings(rpc).AssignRole(settings_pb2.AssignRoleRequest(account_id=user.id, role_id=role_id))
        print(f"role of {user.username}: {_role_name(role_id)}")
        return 0

    return act


def _set_enabled(enabled: bool) -> Any:
    def build(args: argparse.Namespace) -> remote.Action:
        async def act(rpc: RpcClients) -> int:
            user = await remote.find_user(rpc, args.user)
            await _users(rpc).SetEnabled(users_pb2.SetEnabledRequest(id=user.id, enabled=enabled))
            print(f"{'enabled' if enabled else 'disabled'} user {user.username}")
            return 0

        return act

    return build


def _delete(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        await _users(rpc).DeleteUser(users_pb2.DeleteUserRequest(id=user.id))
        print(f"deleted user {user.username}")
        return 0

    return act


def _token_create(args: argparse.Namespace) -> remote.Action:
    try:
        ttl = float(parse_duration(args.expires)) if args.expires else 0.0
    except ValueError:
        raise remote.CliError(f"--expires: expected a duration like 30d, 12h or 90m, found {args.expires!r}") from None

    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        reply = await _users(rpc).CreateAppToken(
            users_pb2.CreateAppTokenRequest(user_id=user.id, label=args.label, ttl=ttl)
        )
        if args.json:
            print_json({**remote.as_dict(reply.token, TOKEN_FIELDS), "token": reply.secret})
        else:
            print(f"app token {reply.token.id} for {user.username}, expires {_when(reply.token.expires)}")
            print("use it as `Authorization: Bearer <token>`; it is shown only now:")
            print(reply.secret)
        return 0

    return act


def _token_list(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        user = await remote.find_user(rpc, args.user)
        reply = await _users(rpc).ListAppTokens(users_pb2.ListAppTokensRequest(user_id=user.id))
        rows = [remote.as_dict(t, TOKEN_FIELDS) for t in reply.tokens]
        if args.json:
            print_json(rows)
        else:
            print_table(
                [{**r, "created": _when(r["created"]), "expires": _when(r["expires"])} for r in rows], TOKEN_FIELDS
            )
        return 0

    return act


def _token_revoke(args: argparse.Namespace) -> remote.Action:
    async def act(rpc: RpcClients) -> int:
        await _users(rpc).RevokeAppToken(users_pb2.RevokeAppTokenRequest(id=args.token_id))
        print(f"revoked app token {args.token_id}")
        return 0

    return act


def _setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(metavar="ACTION", required=True)

    def action(name: str, help: str, build: Any, parent: Any = sub) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        a.set_defaults(action=build)
        return a

    def password_flag(a: argparse.ArgumentParser) -> None:
        a.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")

    a = action("add", "create a user (password from a prompt or --password-stdin)", _add)
    a.add_argument("username")
    a.add_argument("--display-name", default="")
    a.add_argument("--email", default="")
    password_flag(a)
    a = action("list", "list users", _list)
    a.add_argument("--query", default="", help="only users whose username, display name or email contains this")
    a.add_argument("--json", action="store_true")
    a = action("show", "show one user and its groups", _show)
    a.add_argument("user", help="username or id")
    a.add_argument("--json", action="store_true")
    a = action("set-password", "change a user's password", _set_password)
    a.add_argument("user", help="username or id")
    password_flag(a)
    a = action("set-quota", "set the quota of a user's personal space", _set_quota)
    a.add_argument("user", help="username or id")
    a.add_argument("size", help="bytes, a size like 10GB (10^9), 500MiB (2^20 each), 1.5GB, or none (unlimited)")
    a = action("set-role", "give a user a role (replacing its previous one)", _set_role)
    a.add_argument("user", help="username or id")
    a.add_argument("role", help="admin, spaceadmin, user, user-light, a display name like 'Space Admin', or an id")
    for name, enabled in (("disable", False), ("enable", True)):
        action(name, f"{name} a user's logins", _set_enabled(enabled)).add_argument("user", help="username or id")
    action("delete", "delete a user and its app tokens", _delete).add_argument("user", help="username or id")

    token = sub.add_parser("token", help="personal app tokens (Authorization: Bearer)")
    tsub = token.add_subparsers(metavar="ACTION", required=True)
    t = action("create", "mint an app token for a user (printed once)", _token_create, tsub)
    t.add_argument("user", help="username or id")
    t.add_argument("--expires", default="", help="lifetime like 30d, 12h (default: never)")
    t.add_argument("--label", default="", help="what the token is for")
    t.add_argument("--json", action="store_true")
    t = action("list", "list a user's app tokens (never their secrets)", _token_list, tsub)
    t.add_argument("user", help="username or id")
    t.add_argument("--json", action="store_true")
    action("revoke", "revoke an app token", _token_revoke, tsub).add_argument("token_id")


def _run(args: argparse.Namespace) -> int:
    extra = {_show: ("groups",), _set_quota: ("gateway",), _set_role: (SETTINGS,)}.get(args.action, ())
    return remote.execute(args, ("users", *extra))


COMMAND = Command("users", "manage users and their app tokens (over gRPC, as the admin)", _setup, _run)
