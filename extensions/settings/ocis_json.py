"""oCIS's JSON shapes of roles, bundles, assignments and values (as its web UI reads and sends them)."""

from __future__ import annotations

from typing import Any

from ocisd.api.settings.v1 import settings_pb2

from .catalog import BOOL, INT, MULTI_CHOICE, SETTINGS, SINGLE_CHOICE, STRING

SYSTEM = {"type": "TYPE_SYSTEM"}
USER = {"type": "TYPE_USER"}
CONSTRAINTS = {"all": "CONSTRAINT_ALL", "own": "CONSTRAINT_OWN"}


def role(r: settings_pb2.Role) -> dict[str, Any]:
    permissions = [
        {
            "id": p.id,
            "name": p.name,
            "displayName": p.display_name,
            "permissionValue": {"operation": "OPERATION_READWRITE", "constraint": CONSTRAINTS.get(p.constraint, "")},
            "resource": SYSTEM,
        }
        for p in r.permissions
    ]
    return {
        "id": r.id,
        "name": r.name,
        "type": "TYPE_ROLE",
        "extension": "ocis-roles",
        "displayName": r.display_name,
        "settings": permissions,
        "resource": SYSTEM,
    }


def _setting(s: settings_pb2.Setting) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "name": s.name,
        "displayName": s.display_name,
        "description": s.description,
        "resource": USER,
    }
    if s.type in (SINGLE_CHOICE, MULTI_CHOICE):
        options = [
            {"value": {"stringValue": o}, "displayValue": o, **({"default": True} if o == s.default_value else {})}
            for o in s.options
        ]
        out["singleChoiceValue" if s.type == SINGLE_CHOICE else "multiChoiceValue"] = {"options": options}
    elif s.type == BOOL:
        out["boolValue"] = {"default": s.default_value == "true", "label": s.display_name}
    elif s.type == INT:
        out["intValue"] = {"default": s.default_value or "0"}
    elif s.type == STRING:
        out["stringValue"] = {"default": s.default_value}
    return out


def bundle(b: settings_pb2.Bundle) -> dict[str, Any]:
    return {
        "id": b.id,
        "name": b.name,
        "type": "TYPE_DEFAULT",
        "extension": "ocis-accounts",
        "displayName": b.display_name,
        "settings": [_setting(s) for s in b.settings],
        "resource": SYSTEM,
    }


def assignment(a: settings_pb2.RoleAssignment) -> dict[str, Any]:
    return {"id": a.id, "accountUuid": a.account_id, "roleId": a.role_id}


def value(v: settings_pb2.Value) -> dict[str, Any]:
    """`{identifier, value}` as values-list, values-get and values-save answer."""
    found = SETTINGS.get(v.setting_id)
    body: dict[str, Any] = {
        "id": v.id,
        "bundleId": v.bundle_id,
        "settingId": v.setting_id,
        "accountUuid": v.account_id,
        "resource": USER,
    }
    kind = found[1].type if found else MULTI_CHOICE
    if kind == BOOL:
        body["boolValue"] = v.values[:1] == ["true"]
    elif kind == INT:
        body["intValue"] = v.values[0] if v.values else "0"
    elif kind == STRING:
        body["stringValue"] = v.values[0] if v.values else ""
    else:
        body["listValue"] = {"values": [{"stringValue": x} for x in v.values]}
    identifier = {
        "extension": "ocis-accounts",
        "bundle": found[0].name if found else "",
        "setting": found[1].name if found else "",
    }
    return {"identifier": identifier, "value": body}


def _scalar(item: Any) -> str:
    """One JSON value item (`{"stringValue": "de"}`, `{"intValue": 3}`, `{"boolValue": true}`) as a string."""
    if isinstance(item, dict) and len(item) == 1:
        kind, raw = next(iter(item.items()))
        if kind == "stringValue" and isinstance(raw, str):
            return raw
        if kind == "boolValue" and isinstance(raw, bool):
            return "true" if raw else "false"
        if kind == "intValue" and isinstance(raw, (int, str)) and not isinstance(raw, bool):
            return str(raw)
    raise ValueError("a list value item is one of stringValue, intValue or boolValue")


def parse_value(data: Any) -> settings_pb2.Value:
    """A `value` object of values-save; raises ValueError with what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("value must be an object")
    fields = {"id": "id", "bundleId": "bundle_id", "settingId": "setting_id", "accountUuid": "account_id"}
    parsed: dict[str, str] = {}
    for name, attr in fields.items():
        raw = data.get(name, "")
        if not isinstance(raw, str):
            raise ValueError(f"value.{name} must be a string")
        parsed[attr] = "" if raw == "me" and name == "accountUuid" else raw
    if isinstance(data.get("listValue"), dict) and isinstance(data["listValue"].get("values"), list):
        values = [_scalar(i) for i in data["listValue"]["values"]]
    else:
        kinds = [k for k in ("stringValue", "boolValue", "intValue") if k in data]
        if len(kinds) != 1:
            raise ValueError("value needs exactly one of listValue, stringValue, boolValue or intValue")
        values = [_scalar({kinds[0]: data[kinds[0]]})]
    return settings_pb2.Value(**parsed, values=values)
