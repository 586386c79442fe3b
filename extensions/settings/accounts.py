"""Role assignments and values per account, persisted in the store service.

The store may run anywhere: every call goes through the client factory with
settings' own service token. Records read back are checked like any peer's
answer. A user's role is cached for `role_cache_ttl`; a write here drops the
entry and rings `settings.changed` so the other settings instances drop theirs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from ocisd import authz, identity
from ocisd.api.settings.v1 import contract, settings_pb2
from ocisd.api.store.v1 import store_pb2, store_pb2_grpc
from ocisd.logs import Logger
from ocisd.rpc.client import RpcClients

from .catalog import ROLES

CHANGED = "settings.changed"  # bus event {"account_id": ...}: an assignment changed
ASSIGNMENTS = "settings.assignments"  # key: account id → {"id", "role_id"}
VALUES = "settings.values"  # key: "<account id>/<setting id>" → {"id", "bundle_id", "values"}
VALUE_IDS = "settings.value-ids"  # key: value id → "<account id>/<setting id>"
PAGE = 1000
_IDS = uuid.UUID("8f4c7d2e-6a51-4c3b-9e0f-1d2b3a4c5e6f")  # namespace of the stable value ids


class StoreFailed(Exception):
    """The store did not answer as it should; `code` is what the caller is told."""

    def __init__(self, code: grpc.StatusCode, text: str) -> None:
        super().__init__(text)
        self.code = code


def value_id(account_id: str, setting_id: str) -> str:
    return str(uuid.uuid5(_IDS, f"{account_id}/{setting_id}"))


class Accounts:
    def __init__(
        self,
        rpc: RpcClients,
        secret: str,
        admin_id: str,
        cache_ttl: float,
        publish: Callable[[str, Any], None],
        log: Logger,
    ) -> None:
        self._store: Any = rpc.stub("store", store_pb2_grpc.StoreStub)
        self._token = identity.ServiceToken(secret, "settings")
        self._admin_id = admin_id
        self._ttl = cache_ttl
        self._publish = publish
        self._log = log
        self._roles: dict[str, tuple[float, settings_pb2.RoleAssignment]] = {}

    async def _call(self, method: str, request: Any) -> Any:
        with authz.acting_as(self._token.get()):
            try:
                return await getattr(self._store, method)(request)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    return None
                why = f"{exc.code().name} {exc.details() or ''}".rstrip()
                if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise StoreFailed(grpc.StatusCode.UNAVAILABLE, f"settings cannot reach the store: {why}") from exc
                raise StoreFailed(grpc.StatusCode.INTERNAL, f"the store failed: {why}") from exc

    async def _read_json(self, namespace: str, key: str) -> dict[str, Any] | None:
        record = await self._call("Read", store_pb2.ReadRequest(namespace=namespace, key=key))
        return None if record is None else self._decode(namespace, key, record.value)

    def _decode(self, namespace: str, key: str, raw: bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            self._log.warning("malformed record in the store ignored", namespace=namespace, key=key)
            return None
        return data

    async def _write_json(self, namespace: str, key: str, data: Any) -> None:
        value = json.dumps(data).encode()
        await self._call("Write", store_pb2.WriteRequest(namespace=namespace, key=key, value=value))

    # roles

    def forget(self, account_id: str) -> None:
        """Drop a cached role (another instance changed it)."""
        self._roles.pop(account_id, None)

    def default(self, account_id: str) -> settings_pb2.RoleAssignment:
        role = contract.ADMIN if account_id and account_id == self._admin_id else contract.DEFAULT_ROLE
        return settings_pb2.RoleAssignment(id=value_id(account_id, "role"), account_id=account_id, role_id=role)

    async def assignment(self, account_id: str) -> settings_pb2.RoleAssignment:
        hit = self._roles.get(account_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        found = self.default(account_id)
        data = await self._read_json(ASSIGNMENTS, account_id)
        if data is not None and data.get("role_id") in ROLES and isinstance(data.get("id"), str):
            found = settings_pb2.RoleAssignment(id=data["id"], account_id=account_id, role_id=data["role_id"])
        if len(self._roles) > 10_000:
            self._roles.clear()
        self._roles[account_id] = (time.monotonic() + self._ttl, found)
        return found

    async def role(self, account_id: str) -> settings_pb2.Role:
        return ROLES[(await self.assignment(account_id)).role_id]

    async def assign(self, account_id: str, role_id: str) -> settings_pb2.RoleAssignment:
        assigned = settings_pb2.RoleAssignment(id=str(uuid.uuid4()), account_id=account_id, role_id=role_id)
        self._roles.pop(account_id, None)
        try:
            await self._write_json(ASSIGNMENTS, account_id, {"id": assigned.id, "role_id": role_id})
        finally:
            self._roles.pop(account_id, None)
            self._publish(CHANGED, {"account_id": account_id})
        return assigned

    # values

    async def value(self, account_id: str, setting_id: str) -> settings_pb2.Value | None:
        data = await self._read_json(VALUES, f"{account_id}/{setting_id}")
        return None if data is None else _value(account_id, setting_id, data)

    async def value_by_id(self, vid: str) -> settings_pb2.Value | None:
        record = await self._call("Read", store_pb2.ReadRequest(namespace=VALUE_IDS, key=vid))
        if record is None:
            return None
        account_id, _, setting_id = record.value.decode(errors="replace").rpartition("/")
        return await self.value(account_id, setting_id) if account_id else None

    async def save(self, value: settings_pb2.Value) -> settings_pb2.Value:
        key = f"{value.account_id}/{value.setting_id}"
        saved = settings_pb2.Value(
            id=value_id(value.account_id, value.setting_id),
            bundle_id=value.bundle_id,
            setting_id=value.setting_id,
            account_id=value.account_id,
            values=value.values,
        )
        # The index first: a value is never stored without the way to find it by id.
        await self._call("Write", store_pb2.WriteRequest(namespace=VALUE_IDS, key=saved.id, value=key.encode()))
        await self._write_json(
            VALUES, key, {"id": saved.id, "bundle_id": saved.bundle_id, "values": list(saved.values)}
        )
        return saved

    async def values(self, account_id: str) -> list[settings_pb2.Value]:
        prefix, after, found = f"{account_id}/", "", []
        while True:
            request = store_pb2.ListRequest(namespace=VALUES, prefix=prefix, after=after, limit=PAGE, values=True)
            reply = await self._call("List", request)
            for record in reply.records:
                data = self._decode(VALUES, record.key, record.value)
                if data is not None and (value := _value(account_id, record.key[len(prefix) :], data)) is not None:
                    found.append(value)
            if not reply.more or not reply.records:
                return found
            after = reply.records[-1].key


def _value(account_id: str, setting_id: str, data: dict[str, Any]) -> settings_pb2.Value | None:
    values, bundle_id = data.get("values"), data.get("bundle_id")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values) or not isinstance(bundle_id, str):
        return None
    vid = value_id(account_id, setting_id)
    return settings_pb2.Value(id=vid, bundle_id=bundle_id, setting_id=setting_id, account_id=account_id, values=values)
