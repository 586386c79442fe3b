"""`/graph/v1.0/me`: the caller's own account, language and password."""

from __future__ import annotations

from typing import Any

import grpc.aio
from aiohttp import web

from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, users_pb2
from ocisd.api.settings.v1 import contract, settings_pb2, settings_pb2_grpc
from ocisd.rpc.client import RpcClients

from . import odata
from .directory import USER_FIELDS, Directory
from .errors import GraphError, bad_request, json_body, text
from .roles import caller

EXPANDABLE = frozenset({"memberOf"})
PATCHABLE = frozenset({"displayName", "preferredLanguage"})


class Me:
    def __init__(self, rpc: RpcClients, directory: Directory) -> None:
        self._settings: Any = rpc.stub("settings", settings_pb2_grpc.SettingsStub)
        self._auth: Any = rpc.stub("auth-basic", auth_pb2_grpc.AuthBasicStub)
        self._directory = directory

    async def _language(self, user_id: str) -> str:
        """The saved language; "" when none is saved or settings does not answer (it is an extra)."""
        request = settings_pb2.GetValueRequest(account_id=user_id, setting_id=contract.LANGUAGE_SETTING)
        try:
            value = await self._settings.GetValue(request)
        except grpc.aio.AioRpcError:
            return ""
        return value.values[0] if value.values else ""

    async def _answer(self, user_id: str, q: odata.Query) -> web.Response:
        item = await self._directory.user_answer(await self._directory.user(user_id), q)
        if language := await self._language(user_id):
            item["preferredLanguage"] = language
        return web.json_response(odata.selected(item, q))

    async def get(self, request: web.Request) -> web.Response:
        who = caller()
        return await self._answer(
            who.user_id, odata.parse(request.query, USER_FIELDS | {"preferredLanguage"}, EXPANDABLE)
        )

    async def patch(self, request: web.Request) -> web.Response:
        who = caller()
        body = await json_body(request)
        if unknown := sorted(set(body) - PATCHABLE):
            raise bad_request(f"cannot change {unknown[0]} here")
        name, language = text(body, "displayName"), text(body, "preferredLanguage")
        if language is not None and language not in contract.LANGUAGES:
            raise bad_request(f"preferredLanguage must be one of {', '.join(contract.LANGUAGES)}")
        if name is not None:  # as the caller: users lets anyone change their own display name
            await self._directory.users.UpdateUser(users_pb2.UpdateUserRequest(id=who.user_id, display_name=name))
        if language is not None:
            value = settings_pb2.Value(
                bundle_id=contract.PROFILE_BUNDLE,
                setting_id=contract.LANGUAGE_SETTING,
                account_id=who.user_id,
                values=[language],
            )
            await self._settings.SaveValue(settings_pb2.SaveValueRequest(value=value))
        return await self._answer(who.user_id, odata.Query())

    async def change_password(self, request: web.Request) -> web.Response:
        """The current password is checked through auth-basic, so wrong guesses are throttled like
        logins; the throttle's "address" is this path and the user, which locks out nobody else."""
        who = caller()
        body = await json_body(request)
        current = text(body, "currentPassword", required=True)
        new = text(body, "newPassword", required=True)
        check = auth_pb2.BasicRequest(
            username=who.username, password=current, client_ip=f"graph-password:{who.user_id}"
        )
        with self._directory.authority.as_service():
            try:
                checked = await self._auth.Authenticate(check)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                    raise bad_request("the current password is wrong") from None
                if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise GraphError(429, "tooManyRequests", "too many wrong passwords; try again later") from None
                raise
        if checked.user.id != who.user_id:
            raise bad_request("the current password is wrong")
        with self._directory.authority.as_system():
            await self._directory.users.SetPassword(users_pb2.SetPasswordRequest(id=who.user_id, password=new))
        return web.Response(status=204)
