"""What ocisd tells clients it can do, built from config and the live registry.

A feature is advertised only while something live implements it: chunked
uploads while an instance serves `/remote.php/dav/uploads/`, WebDAV itself while
one serves `/remote.php/dav/files/`. What ocisd is (API level, product, version)
comes from `ocisd.product`.
"""

from __future__ import annotations

from typing import Any

from ocisd import product
from ocisd.bus.registry import Registry
from ocisd.config.schema import ConfigError
from ocisd.config.shared import SharedConfig

from .config import FrontendConfig

CHECKSUMS = ["SHA1", "MD5", "ADLER32"]
UPLOADS_ROUTE = "/remote.php/dav/uploads/"
FILES_ROUTE = "/remote.php/dav/files/"
TRASH_ROUTE = "/remote.php/dav/trash-bin/"
TRASH_FEATURE = "trash-bin"  # what a storage provider keeping trash bins announces
META_ROUTE = "/remote.php/dav/meta/"  # versions of a file, by id
SHARES_ROUTE = "/ocs/v1.php/apps/files_sharing/api/v1/shares"


def live_routes(registry: Registry) -> set[str]:
    return {route for e in registry.entries() if e.record.health == "ready" for route in e.record.routes}


def live_features(registry: Registry) -> set[str]:
    return {f for e in registry.entries() if e.record.health == "ready" for f in e.record.features}


def upload_checksum(cfg: FrontendConfig) -> str:
    """The configured preferred upload checksum, checked against what the storage computes."""
    wanted = cfg.checksums_preferred_upload_type.strip().upper()
    if wanted not in CHECKSUMS:
        raise ConfigError(
            f"frontend checksums_preferred_upload_type: expected one of {', '.join(CHECKSUMS)}, found {wanted!r}"
        )
    return wanted


def default_permissions(cfg: FrontendConfig) -> int:
    if not 1 <= cfg.default_permissions <= 31:
        raise ConfigError(f"frontend default_permissions: expected 1 to 31, found {cfg.default_permissions}")
    return cfg.default_permissions


def build(cfg: FrontendConfig, registry: Registry, shared: SharedConfig) -> dict[str, Any]:
    routes = live_routes(registry)
    undelete = TRASH_ROUTE in routes and TRASH_FEATURE in live_features(registry)
    files: dict[str, Any] = {
        "bigfilechunking": UPLOADS_ROUTE in routes,  # desktop clients use chunking NG only with this true
        "blacklisted_files": [],  # nothing refuses such names on upload, so none is promised
        "privateLinks": False,
        "undelete": undelete,
        "versioning": META_ROUTE in routes and not shared.disable_versioning,
        "favorites": True,
    }
    if cfg.tus_support and FILES_ROUTE in routes:
        files["tus_support"] = {
            "version": "1.0.0",
            "resumable": "1.0.0",
            "extension": "creation,creation-with-upload,termination",
            "max_chunk_size": cfg.tus_max_chunk_size,
            "http_method_override": "",
        }
    dav: dict[str, Any] = {"reports": ["search-files"]}
    if UPLOADS_ROUTE in routes:
        dav["chunking"] = "1.0"
    if undelete:
        dav["trashbin"] = "1.0"
    return {
        "core": {
            "pollinterval": cfg.poll_interval,
            "webdav-root": "remote.php/webdav",
            "status": product.status(),
            "support-url-signing": False,
        },
        "checksums": {"supportedTypes": CHECKSUMS, "preferredUploadType": upload_checksum(cfg)},
        "dav": dav,
        "files": files,
        "files_sharing": files_sharing(cfg, SHARES_ROUTE in routes and bool(registry.healthy("sharing"))),
    }


def files_sharing(cfg: FrontendConfig, live: bool) -> dict[str, Any]:
    """ownCloud's sharing block: on while the OCS share API and the sharing service are live."""
    if not live:
        return {"api_enabled": False, "public": {"enabled": False}, "resharing": False}
    enforced_for = {
        "read_only": cfg.public_share_must_have_password,
        "read_write": cfg.public_share_must_have_password or cfg.public_writeable_share_must_have_password,
        "upload_only": cfg.public_share_must_have_password or cfg.public_writeable_share_must_have_password,
    }
    no_expiry = {"enabled": False}
    return {
        "api_enabled": True,
        "public": {
            "enabled": True,
            "password": {"enforced": cfg.public_share_must_have_password, "enforced_for": enforced_for},
            "expire_date": no_expiry,
            "send_mail": False,
            "social_share": False,
            "upload": True,
            "multiple": True,
            "supports_upload_only": True,
            "defaultPublicLinkShareName": "Public link",
        },
        "user": {"send_mail": False, "expire_date": no_expiry},
        "group": {"expire_date": no_expiry},
        "resharing": True,
        "group_sharing": True,
        "auto_accept_share": False,
        "share_with_group_members_only": False,
        "share_with_membership_groups_only": False,
        "federation": {"outgoing": False, "incoming": False},
        "default_permissions": default_permissions(cfg),
        "search_min_length": cfg.search_min_length,
        "user_enumeration": {"enabled": True, "group_members_only": False},
    }
