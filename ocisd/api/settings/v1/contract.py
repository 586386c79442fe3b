"""What a caller of `ocisd.settings.v1` needs besides the messages: roles, permissions, settings.

Role and permission ids are oCIS's, so a web UI written for oCIS finds the same
ones. Every user has exactly one role: the admin (`OCIS_ADMIN_USER_ID`) `Admin`,
anyone without an assignment `User`. graph and the CLI ask settings
`CheckPermission` before an administrative act; the storage then trusts the
service identity graph calls it with, never the user's own claim.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "71881883-1768-46bd-a24d-a356a2afdf7f"
SPACE_ADMIN = "2aadd357-682c-406b-8874-293091995fdd"
USER = "d7beeea8-8ff4-406b-8fb6-ab2dd81e6b11"
USER_LIGHT = "38071a68-456a-4553-846a-fa67bf5596cc"

# name (as `ocis users set-role USER ROLE` and the HTTP API take it) → (id, display name)
ROLES = {
    "admin": (ADMIN, "Admin"),
    "spaceadmin": (SPACE_ADMIN, "Space Admin"),
    "user": (USER, "User"),
    "user-light": (USER_LIGHT, "User Light"),
}
DEFAULT_ROLE = USER

ALL = "all"
OWN = "own"


@dataclass(frozen=True)
class PermissionSpec:
    id: str
    name: str
    display_name: str


# The permissions graph, the CLI and the storage's callers check.
ACCOUNTS_READ_WRITE = PermissionSpec("8e587774-d929-4215-910b-a317b1e80f73", "Accounts.ReadWrite", "Manage users")
GROUPS_READ_WRITE = PermissionSpec("522adfbe-5908-45b4-b135-41979de73245", "Groups.ReadWrite", "Manage groups")
ROLES_READ_WRITE = PermissionSpec("a53e601e-571f-4f86-8fec-d4576ef49c62", "Roles.ReadWrite", "Assign roles")
SETTINGS_READ_WRITE = PermissionSpec("3d58f441-4a05-42f8-9411-ef5874528ae1", "Settings.ReadWrite", "Manage settings")
LANGUAGE_READ_WRITE = PermissionSpec("7d81f103-0488-4853-bce5-98dcce36d649", "Language.ReadWrite", "Set language")
DRIVES_CREATE = PermissionSpec("79e13b30-3e22-11eb-bc51-0b9f0bad9a58", "Drives.Create", "Create spaces")
DRIVES_LIST = PermissionSpec("4e41363c-a058-40a5-aec8-958897511209", "Drives.List", "List all spaces")
DRIVES_READ_WRITE = PermissionSpec("4e41363c-a058-40a5-aec8-958897511208", "Drives.ReadWrite", "Manage all spaces")
DRIVES_ENABLED = PermissionSpec("11516bbd-7157-49e1-b6ac-d00c820f980b", "Drives.ReadWriteEnabled", "Disable spaces")
DRIVES_DELETE_PROJECT = PermissionSpec("5de9fe0a-4bc5-4a47-b758-28f370caf169", "Drives.DeleteProject", "Delete spaces")
PROJECT_QUOTA = PermissionSpec(
    "977f0ae6-0da2-4856-93f3-22e0a8482489", "Drives.ReadWriteProjectQuota", "Set project space quotas"
)
PERSONAL_QUOTA = PermissionSpec(
    "4e41363c-a058-40a5-aec8-958897511207", "Drives.ReadWritePersonalQuota", "Set personal space quotas"
)
SHARES_WRITE = PermissionSpec("3d58f441-4a05-42f8-9411-ef5874528ae2", "Shares.Write", "Create shares")
PERSONAL_SPACE = PermissionSpec("4e41363c-a058-40a5-aec8-958897511206", "PersonalSpace.Read", "Have a personal space")

_ADMINISTRATION = (ACCOUNTS_READ_WRITE, GROUPS_READ_WRITE, ROLES_READ_WRITE, SETTINGS_READ_WRITE)
_SPACES = (DRIVES_CREATE, DRIVES_LIST, DRIVES_READ_WRITE, DRIVES_ENABLED, DRIVES_DELETE_PROJECT, PROJECT_QUOTA)
_EVERYONE = (LANGUAGE_READ_WRITE, SHARES_WRITE, PERSONAL_SPACE)

# role id → the permissions it holds (all with constraint "all", except where the value says "own").
ROLE_PERMISSIONS: dict[str, tuple[PermissionSpec, ...]] = {
    ADMIN: (*_ADMINISTRATION, *_SPACES, PERSONAL_QUOTA, *_EVERYONE),
    SPACE_ADMIN: (*_SPACES, *_EVERYONE),
    USER: _EVERYONE,
    USER_LIGHT: (LANGUAGE_READ_WRITE,),
}
PERMISSIONS = {p.name: p for perms in ROLE_PERMISSIONS.values() for p in perms}


def role_id(name_or_id: str) -> str | None:
    """A role's id from its name ("spaceadmin"), display name ("Space Admin") or id; None if unknown."""
    key = name_or_id.strip().casefold()
    for name, (rid, display) in ROLES.items():
        if key in (name, display.casefold(), rid):
            return rid
    return None


# The `profile` bundle every user has (oCIS's ids, so the web UI's language picker works).
PROFILE_BUNDLE = "2a506de7-99bd-4f0d-994e-c38e72c28fd9"
LANGUAGE_SETTING = "aa8cfbe5-95d4-4f7e-a032-c3c01f5f062f"
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "cs", "sv", "gl", "zh")
