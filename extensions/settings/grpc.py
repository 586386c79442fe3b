"""The Settings gRPC service: who may ask what (the proto's header), over `Accounts` and the catalog.

A service identity (or the system user) may do anything; a user may read their
own assignment, permissions and values and save their own values; everything
about another account, and every AssignRole, needs `Roles.ReadWrite`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import NoReturn, TypeAlias, TypeVar

import grpc
import grpc.aio

from ocisd import identity
from ocisd.api.settings.v1 import contract, settings_pb2, settings_pb2_grpc

from .accounts import Accounts, StoreFailed
from .catalog import BUNDLES, MAX_ACCOUNT_ID, ROLES, SETTINGS, InvalidValue, check_value

T = TypeVar("T")
Context: TypeAlias = grpc.aio.ServicerContext


async def _abort(context: Context, code: grpc.StatusCode, why: str) -> NoReturn:
    await context.abort(code, why)
    raise AssertionError("abort returned")  # for the type checker: abort always raises


class SettingsService(settings_pb2_grpc.SettingsServicer):
    def __init__(self, accounts: Accounts, system_user_id: str) -> None:
        self._accounts = accounts
        self._system_user_id = system_user_id

    async def _store(self, context: Context, call: Awaitable[T]) -> T:
        try:
            return await call
        except StoreFailed as exc:
            await _abort(context, exc.code, str(exc))

    async def _may_manage(self, context: Context) -> identity.Identity:
        """The caller, if it holds Roles.ReadWrite (services and the system user always do)."""
        who = identity.CURRENT.get()
        if who is None:
            await _abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        if who.service or (self._system_user_id and who.user_id == self._system_user_id):
            return who
        role = await self._store(context, self._accounts.role(who.user_id))
        if not any(p.name == contract.ROLES_READ_WRITE.name for p in role.permissions):
            await _abort(
                context, grpc.StatusCode.PERMISSION_DENIED, f"permission {contract.ROLES_READ_WRITE.name} required"
            )
        return who

    async def _account(self, context: Context, account_id: str) -> str:
        """The account asked about ("" = the caller), if the caller may see and change its data."""
        who = identity.CURRENT.get()
        if who is None:
            await _abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        account_id = account_id or who.user_id
        if not 0 < len(account_id) <= MAX_ACCOUNT_ID or "/" in account_id:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "malformed account id")
        if account_id != who.user_id:
            await self._may_manage(context)
        return account_id

    async def ListRoles(
        self, request: settings_pb2.ListRolesRequest, context: Context
    ) -> settings_pb2.ListRolesResponse:
        return settings_pb2.ListRolesResponse(roles=ROLES.values())

    async def ListRoleAssignments(
        self, request: settings_pb2.ListRoleAssignmentsRequest, context: Context
    ) -> settings_pb2.ListRoleAssignmentsResponse:
        account_id = await self._account(context, request.account_id)
        found = await self._store(context, self._accounts.assignment(account_id))
        return settings_pb2.ListRoleAssignmentsResponse(assignments=[found])

    async def AssignRole(
        self, request: settings_pb2.AssignRoleRequest, context: Context
    ) -> settings_pb2.RoleAssignment:
        account_id = await self._account(context, request.account_id)
        await self._may_manage(context)  # also for one's own account: nobody promotes themselves
        if request.role_id not in ROLES:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no role {request.role_id!r}")
        # OCIS_ADMIN_USER_ID stays Admin: the CLI acts as that user and must never lock itself out.
        if self._accounts.default(account_id).role_id == contract.ADMIN and request.role_id != contract.ADMIN:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, "the admin user keeps the Admin role")
        return await self._store(context, self._accounts.assign(account_id, request.role_id))

    async def ListPermissions(
        self, request: settings_pb2.ListPermissionsRequest, context: Context
    ) -> settings_pb2.ListPermissionsResponse:
        account_id = await self._account(context, request.account_id)
        role = await self._store(context, self._accounts.role(account_id))
        return settings_pb2.ListPermissionsResponse(permissions=role.permissions)

    async def CheckPermission(
        self, request: settings_pb2.CheckPermissionRequest, context: Context
    ) -> settings_pb2.CheckPermissionResponse:
        account_id = await self._account(context, request.account_id)
        role = await self._store(context, self._accounts.role(account_id))
        held = next((p for p in role.permissions if p.name == request.permission), None)
        if held is None:
            return settings_pb2.CheckPermissionResponse(granted=False)
        return settings_pb2.CheckPermissionResponse(granted=True, constraint=held.constraint)

    async def ListBundles(
        self, request: settings_pb2.ListBundlesRequest, context: Context
    ) -> settings_pb2.ListBundlesResponse:
        return settings_pb2.ListBundlesResponse(bundles=BUNDLES.values())

    async def GetValue(self, request: settings_pb2.GetValueRequest, context: Context) -> settings_pb2.Value:
        if request.id:
            found = await self._store(context, self._accounts.value_by_id(request.id))
            if found is not None:
                await self._account(context, found.account_id)
        else:
            if request.setting_id not in SETTINGS:
                await _abort(context, grpc.StatusCode.NOT_FOUND, f"no setting {request.setting_id!r}")
            account_id = await self._account(context, request.account_id)
            found = await self._store(context, self._accounts.value(account_id, request.setting_id))
        if found is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, "no such value")
        return found

    async def SaveValue(self, request: settings_pb2.SaveValueRequest, context: Context) -> settings_pb2.Value:
        value = settings_pb2.Value()
        value.CopyFrom(request.value)
        value.account_id = await self._account(context, value.account_id)
        if value.setting_id not in SETTINGS:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no setting {value.setting_id!r}")
        bundle, setting = SETTINGS[value.setting_id]
        if value.bundle_id not in ("", bundle.id):
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"setting {setting.name} is in bundle {bundle.id}")
        value.bundle_id = bundle.id
        try:
            check_value(setting, list(value.values))
        except InvalidValue as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return await self._store(context, self._accounts.save(value))

    async def ListValues(
        self, request: settings_pb2.ListValuesRequest, context: Context
    ) -> settings_pb2.ListValuesResponse:
        account_id = await self._account(context, request.account_id)
        if request.bundle_id and request.bundle_id not in BUNDLES:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"no bundle {request.bundle_id!r}")
        found = await self._store(context, self._accounts.values(account_id))
        return settings_pb2.ListValuesResponse(
            values=[v for v in found if not request.bundle_id or v.bundle_id == request.bundle_id]
        )
