"""What settings offers, built from the contract: roles with their permissions, the profile bundle.

Also the rule a value must follow to be saved (`check_value`): the setting's
type and options.
"""

from __future__ import annotations

import re

from ocisd.api.settings.v1 import contract, settings_pb2
from ocisd.api.settings.v1.contract import LANGUAGE_SETTING, LANGUAGES, PROFILE_BUNDLE

SINGLE_CHOICE = "single_choice"
MULTI_CHOICE = "multi_choice"
BOOL = "bool"
STRING = "string"
INT = "int"
MAX_STRING = 1024
MAX_ACCOUNT_ID = 200  # an account id plus a setting id must fit a store key (255)


def _permission(spec: contract.PermissionSpec) -> settings_pb2.Permission:
    return settings_pb2.Permission(id=spec.id, name=spec.name, display_name=spec.display_name, constraint=contract.ALL)


ROLES = {
    rid: settings_pb2.Role(
        id=rid,
        name=name,
        display_name=display,
        permissions=[_permission(p) for p in contract.ROLE_PERMISSIONS[rid]],
    )
    for name, (rid, display) in contract.ROLES.items()
}


def _flag(sid: str, name: str, display: str, about: str) -> settings_pb2.Setting:
    """A notification option, on unless the user turns it off."""
    description = f"Notify me about {about}"
    return settings_pb2.Setting(
        id=sid, name=name, display_name=display, description=description, type=BOOL, default_value="true"
    )


PROFILE = settings_pb2.Bundle(
    id=PROFILE_BUNDLE,
    name="profile",
    display_name="Profile",
    settings=[
        settings_pb2.Setting(
            id=LANGUAGE_SETTING,
            name="language",
            display_name="Language",
            description="User language",
            type=SINGLE_CHOICE,
            options=LANGUAGES,
            default_value="en",
        ),
        settings_pb2.Setting(
            id="d90acf42-8ff2-480b-ae51-877c6e869941",
            name="email-sending-interval",
            display_name="Email sending interval",
            description="How often notifications are sent by email",
            type=SINGLE_CHOICE,
            options=("instant", "daily", "weekly", "never"),
            default_value="instant",
        ),
        _flag("4afac39b-524b-40d0-93e7-331f45dc980b", "notify-share-created", "Share received", "shares with me"),
        _flag("176e6b87-4824-4b3c-8f9a-4a6dd706c7f4", "notify-space-membership", "Added to a space", "space members"),
    ],
)
BUNDLES = {PROFILE.id: PROFILE}
SETTINGS = {s.id: (b, s) for b in BUNDLES.values() for s in b.settings}


class InvalidValue(ValueError):
    """A value of the wrong type or outside the setting's options."""


def check_value(setting: settings_pb2.Setting, values: list[str]) -> None:
    """Raise InvalidValue unless `values` suits `setting`."""
    if setting.type != MULTI_CHOICE and len(values) != 1:
        raise InvalidValue(f"setting {setting.name} takes exactly one value, not {len(values)}")
    if setting.type in (SINGLE_CHOICE, MULTI_CHOICE):
        if wrong := [v for v in values if v not in setting.options]:
            raise InvalidValue(f"{wrong[0]!r} is not an option of {setting.name}: {', '.join(setting.options)}")
        if len(set(values)) != len(values):
            raise InvalidValue(f"setting {setting.name} has an option twice")
    elif setting.type == BOOL and values[0] not in ("true", "false"):
        raise InvalidValue(f"setting {setting.name} is true or false, not {values[0]!r}")
    elif setting.type == INT and not re.fullmatch(r"-?[0-9]{1,18}", values[0]):
        raise InvalidValue(f"setting {setting.name} is an integer, not {values[0]!r}")
    elif setting.type == STRING and len(values[0]) > MAX_STRING:
        raise InvalidValue(f"setting {setting.name} is at most {MAX_STRING} characters long")
