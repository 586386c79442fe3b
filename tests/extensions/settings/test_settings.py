"""settings: roles and default roles, assignments, CheckPermission, values, the HTTP API, `ocis users set-role`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import requests

from ocisd import identity
from ocisd.api.settings.v1 import contract
from ocisd.api.settings.v1 import settings_pb2 as pb
from ocisd.api.settings.v1 import settings_pb2_grpc as pb_grpc
from tests.support.harness import Deployment, free_port, wait_until
from tests.support.identity import (
    ADMIN_PASSWORD,
    add_user,
    call,
    config_value,
    identity_deployment,
    ocis_ok,
    service_call,
    token_for,
)

RUN = "bus,users,groups,auth-basic,proxy,store,settings"
PASSWORD = "settings-pw-1"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the self-signed proxy


@dataclass
class Stack:
    dep: Deployment
    ids: dict[str, str]  # username → user id

    def token(self, username: str) -> str:
        return token_for(self.dep, identity.Identity(user_id=self.ids[username], username=username))

    def grpc(self, who: str, method: str, request: Any) -> Any:
        """A call as user `who`, or as a service for who="service"."""
        if who == "service":
            return service_call(self.dep, "settings", pb_grpc.SettingsStub, method, request)
        return call(self.dep, "settings", pb_grpc.SettingsStub, method, request, self.token(who))

    def code(self, who: str, method: str, request: Any) -> grpc.StatusCode:
        try:
            self.grpc(who, method, request)
        except grpc.RpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    def granted(self, who: str, account: str, permission: contract.PermissionSpec) -> bool:
        request = pb.CheckPermissionRequest(account_id=self.ids[account], permission=permission.name)
        return bool(self.grpc(who, "CheckPermission", request).granted)

    def http(self, who: str, endpoint: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        password = ADMIN_PASSWORD if who == "admin" else PASSWORD
        url = f"https://{self.dep.addr('proxy', 'http_addr')}/api/v0/settings/{endpoint}"
        data = raw if raw is not None else None
        reply = requests.post(url, json=body if raw is None else None, data=data, auth=(who, password), verify=False)
        return reply.status_code, reply.json()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    saved = {k: os.environ.pop(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if k in os.environ}
    try:
        with identity_deployment() as dep:
            dep.env["SETTINGS_ROLE_CACHE_TTL"] = "1h"  # a cached role changes only through a write or the bus
            dep.start_runtime(RUN)
            ids = {"admin": config_value(dep, "admin_user_id")}
            for name in ("alice", "bob", "carol"):
                ids[name] = add_user(dep, name, PASSWORD)
            s = Stack(dep, ids)
            wait_until(lambda: s.http("alice", "roles-list")[0] == 200, 30, what="settings behind the proxy")
            yield s
    finally:
        os.environ.update(saved)


def test_roles_and_default_assignments(stack: Stack) -> None:
    roles = {r.name: r for r in stack.grpc("alice", "ListRoles", pb.ListRolesRequest()).roles}
    assert set(roles) == set(contract.ROLES)
    assert {p.name for p in roles["user"].permissions} == {p.name for p in contract.ROLE_PERMISSIONS[contract.USER]}
    for who, role in (("admin", contract.ADMIN), ("alice", contract.USER)):
        reply = stack.grpc(who, "ListRoleAssignments", pb.ListRoleAssignmentsRequest())
        assert [(a.account_id, a.role_id) for a in reply.assignments] == [(stack.ids[who], role)]


def test_check_permission(stack: Stack) -> None:
    assert stack.granted("alice", "alice", contract.PERSONAL_SPACE)
    assert not stack.granted("alice", "alice", contract.DRIVES_CREATE)
    assert stack.granted("admin", "admin", contract.DRIVES_CREATE)
    assert stack.granted("service", "admin", contract.ACCOUNTS_READ_WRITE)
    assert stack.granted("admin", "alice", contract.LANGUAGE_READ_WRITE)  # Roles.ReadWrite reads others'
    other = pb.CheckPermissionRequest(account_id=stack.ids["admin"], permission="Drives.Create")
    assert stack.code("alice", "CheckPermission", other) == grpc.StatusCode.PERMISSION_DENIED


def test_assign_role_as_admin_refused_as_user(stack: Stack) -> None:
    promote = pb.AssignRoleRequest(account_id=stack.ids["alice"], role_id=contract.ADMIN)
    assert stack.code("alice", "AssignRole", promote) == grpc.StatusCode.PERMISSION_DENIED
    assert not stack.granted("service", "bob", contract.DRIVES_CREATE)  # now cached as User
    stack.grpc("admin", "AssignRole", pb.AssignRoleRequest(account_id=stack.ids["bob"], role_id=contract.SPACE_ADMIN))
    assert stack.granted("service", "bob", contract.DRIVES_CREATE)  # the write dropped the cache
    assert not stack.granted("service", "bob", contract.ACCOUNTS_READ_WRITE)
    unknown = pb.AssignRoleRequest(account_id=stack.ids["bob"], role_id="no-such-role")
    assert stack.code("admin", "AssignRole", unknown) == grpc.StatusCode.NOT_FOUND
    demote = pb.AssignRoleRequest(account_id=stack.ids["admin"], role_id=contract.USER)
    assert stack.code("admin", "AssignRole", demote) == grpc.StatusCode.FAILED_PRECONDITION


def test_values_are_validated_and_kept(stack: Stack) -> None:
    lang = pb.Value(setting_id=contract.LANGUAGE_SETTING, values=["de"])
    saved = stack.grpc("alice", "SaveValue", pb.SaveValueRequest(value=lang))
    assert (saved.account_id, saved.bundle_id, list(saved.values)) == (
        stack.ids["alice"],
        contract.PROFILE_BUNDLE,
        ["de"],
    )
    assert list(stack.grpc("alice", "GetValue", pb.GetValueRequest(id=saved.id)).values) == ["de"]
    by_setting = pb.GetValueRequest(setting_id=contract.LANGUAGE_SETTING)
    assert stack.grpc("alice", "GetValue", by_setting).id == saved.id
    again = stack.grpc(
        "alice", "SaveValue", pb.SaveValueRequest(value=pb.Value(setting_id=lang.setting_id, values=["fr"]))
    )
    assert again.id == saved.id
    listed = stack.grpc("alice", "ListValues", pb.ListValuesRequest(bundle_id=contract.PROFILE_BUNDLE)).values
    assert [(v.setting_id, list(v.values)) for v in listed] == [(contract.LANGUAGE_SETTING, ["fr"])]
    assert stack.code("bob", "GetValue", pb.GetValueRequest(id=saved.id)) == grpc.StatusCode.PERMISSION_DENIED
    bool_setting = next(
        s for s in stack.grpc("bob", "ListBundles", pb.ListBundlesRequest()).bundles[0].settings if s.type == "bool"
    )
    bad = [
        (pb.Value(setting_id=contract.LANGUAGE_SETTING, values=["xx"]), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.Value(setting_id=contract.LANGUAGE_SETTING, values=["de", "fr"]), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.Value(setting_id=bool_setting.id, values=["maybe"]), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.Value(setting_id="no-such-setting", values=["x"]), grpc.StatusCode.NOT_FOUND),
        (
            pb.Value(account_id=stack.ids["alice"], setting_id=bool_setting.id, values=["true"]),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
    ]
    for value, code in bad:
        assert stack.code("bob", "SaveValue", pb.SaveValueRequest(value=value)) == code, value


def test_http_api_through_the_proxy(stack: Stack) -> None:
    status, body = stack.http("alice", "roles-list")
    assert status == 200 and {b["displayName"] for b in body["bundles"]} == {
        "Admin",
        "Space Admin",
        "User",
        "User Light",
    }
    admin_role = next(b for b in body["bundles"] if b["id"] == contract.ADMIN)
    assert "Drives.Create" in {s["name"] for s in admin_role["settings"]}
    status, body = stack.http("alice", "bundles-list")
    language = next(s for s in body["bundles"][0]["settings"] if s["id"] == contract.LANGUAGE_SETTING)
    assert {"value": {"stringValue": "de"}, "displayValue": "de"} in language["singleChoiceValue"]["options"]
    status, body = stack.http("carol", "assignments-list", {"account_uuid": stack.ids["carol"]})
    assert status == 200 and [(a["accountUuid"], a["roleId"]) for a in body["assignments"]] == [
        (stack.ids["carol"], contract.USER)
    ]
    status, body = stack.http("carol", "permissions-list", {"account_uuid": stack.ids["carol"]})
    assert status == 200 and "Shares.Write" in body["permissions"] and "Drives.Create" not in body["permissions"]
    value = {
        "accountUuid": "me",
        "bundleId": contract.PROFILE_BUNDLE,
        "settingId": contract.LANGUAGE_SETTING,
        "resource": {"type": "TYPE_USER"},
        "listValue": {"values": [{"stringValue": "it"}]},
    }
    status, body = stack.http("carol", "values-save", {"value": value})
    assert status == 200 and body["value"]["value"]["listValue"] == {"values": [{"stringValue": "it"}]}
    assert body["value"]["identifier"] == {"extension": "ocis-accounts", "bundle": "profile", "setting": "language"}
    status, got = stack.http("carol", "values-get", {"id": body["value"]["value"]["id"]})
    assert status == 200 and got == body
    status, listed = stack.http("carol", "values-list", {"account_uuid": "me"})
    assert status == 200 and listed["values"] == [body["value"]]
    assert (
        stack.http("carol", "values-save", {"value": {**value, "listValue": {"values": [{"stringValue": "xx"}]}}})[0]
        == 400
    )
    add = {"account_uuid": stack.ids["carol"], "role_id": contract.SPACE_ADMIN}
    assert stack.http("carol", "assignments-add", add)[0] == 403
    status, body = stack.http("admin", "assignments-add", add)
    assert status == 200 and body["assignment"]["roleId"] == contract.SPACE_ADMIN
    assert stack.http("carol", "values-get", {"id": "no-such-value"})[0] == 404
    for raw in (b"{not json", b"[1]", b'{"account_uuid": 5}'):
        assert stack.http("carol", "permissions-list", raw=raw)[0] == 400


def test_cli_set_role(stack: Stack) -> None:
    out = ocis_ok(stack.dep, "users", "set-role", "alice", "Space Admin")
    assert out.strip() == "role of alice: Space Admin"
    assert stack.granted("service", "alice", contract.DRIVES_CREATE)
    assert "role:         Space Admin" in ocis_ok(stack.dep, "users", "show", "alice")
    ocis_ok(stack.dep, "users", "set-role", "alice", "user")
    assert not stack.granted("service", "alice", contract.DRIVES_CREATE)
    res = stack.dep.ocis("users", "set-role", "alice", "overlord")
    assert res.returncode == 2 and "spaceadmin (Space Admin)" in res.stderr


def test_a_second_instance_drops_its_cache_on_the_bus_event(stack: Stack) -> None:
    dep = stack.dep
    addrs = {f"SETTINGS_{k}_ADDR": f"127.0.0.1:{free_port()}" for k in ("HTTP", "GRPC", "DEBUG")}
    dep.start_extension("settings", env=addrs)
    ask = pb.CheckPermissionRequest(account_id=stack.ids["carol"], permission=contract.ACCOUNTS_READ_WRITE.name)

    def granted_there() -> bool:
        with grpc.insecure_channel(addrs["SETTINGS_GRPC_ADDR"]) as channel:
            metadata = [(identity.GRPC_METADATA, stack.token("carol"))]
            return bool(pb_grpc.SettingsStub(channel).CheckPermission(ask, metadata=metadata, timeout=10).granted)

    assert not granted_there()  # cached there for an hour
    assign = pb.AssignRoleRequest(account_id=stack.ids["carol"], role_id=contract.ADMIN)
    stack.grpc("admin", "AssignRole", assign)  # the runtime's instance: the other hears settings.changed
    wait_until(granted_there, what="the second instance to forget carol's cached role")
