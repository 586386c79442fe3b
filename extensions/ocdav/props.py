"""Live properties (DAV and ownCloud) and the `<d:response>` of one resource in a PROPFIND."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from ocisd.api.postprocessing.v1.contract import READY
from ocisd.api.storage.v1.contract import ID_SEPARATOR

from . import paths, xml
from .resource import Resource
from .xml import DAV, OC, PropfindRequest, clark

FAVORITE = clark(OC, "favorite")
SHARE_TYPES = clark(OC, "share-types")
OWNER_DISPLAY_NAME = clark(OC, "owner-display-name")
_PLAIN = re.compile(r"[A-Za-z0-9/._~-]*\Z")  # what quote() leaves alone: most names skip it
QUOTA_UNLIMITED = -3  # what ownCloud clients read as "no quota"


@dataclass
class View:
    """What rendering needs beyond the resource: the href base and facts about the caller's space."""

    base: str
    owner_display_name: str = ""  # the caller's; other owners' come from `owner_names`
    quota_available: int | None = None  # None = not asked for
    private_links: str = ""  # "<OCIS_URL>/f/"
    space: str = ""  # the space id of a spaces URL (DavPath.space)
    # Filled page by page, only when the properties are asked for (propfind.annotate):
    share_types: dict[str, list[int]] = field(default_factory=dict)  # resource id -> types the caller shared
    owner_names: dict[str, str] = field(default_factory=dict)  # owner user id -> display name


def _lockdiscovery(res: Resource, view: View) -> str:
    roots = [paths.in_space(view.space, lk.root_path) if lk.root_path else res.path for lk in res.locks]
    return "".join(
        xml.activelock(
            lk.token,
            paths.href(view.base, root, res.is_dir and root == res.path),
            lk.scope,
            lk.depth,
            lk.owner,
            lk.timeout,
        )
        for lk, root in zip(res.locks, roots, strict=True)
    )


def _checksums(res: Resource, view: View) -> str | None:
    if res.is_dir or not res.checksums:
        return None
    return f"<oc:checksum>{' '.join(f'{k}:{v}' for k, v in res.checksums.items())}</oc:checksum>"


def _file_only(get: Callable[[Resource], str]) -> Callable[[Resource, View], str | None]:
    return lambda res, view: None if res.is_dir else get(res)


def _dir_only(get: Callable[[Resource, View], str | None]) -> Callable[[Resource, View], str | None]:
    return lambda res, view: get(res, view) if res.is_dir else None


def _share_types(res: Resource, view: View) -> str:
    return "".join(f"<oc:share-type>{t}</oc:share-type>" for t in view.share_types.get(res.id, ()))


def _owner_display_name(res: Resource, view: View) -> str:
    return xml.text(view.owner_names.get(res.owner_id, view.owner_display_name))


def _quota_available(res: Resource, view: View) -> str | None:
    return None if view.quota_available is None else str(view.quota_available)


def _scanned(get: Callable[[Resource], str]) -> Callable[[Resource, View], str | None]:
    """A scan property: defined for files scanned at least once."""
    return lambda res, view: get(res) if not res.is_dir and res.scan_status else None


Getter = Callable[[Resource, View], "str | None"]
# Clark name -> inner XML of the value, or None where it is not defined (answered in the 404 propstat).
LIVE: dict[str, Getter] = {
    clark(DAV, "resourcetype"): lambda res, view: "<d:collection/>" if res.is_dir else "",
    clark(DAV, "getlastmodified"): lambda res, view: xml.http_date(res.mtime),
    clark(DAV, "getetag"): lambda res, view: xml.text(res.quoted_etag),
    clark(DAV, "getcontenttype"): _file_only(lambda res: xml.text(res.content_type)),
    clark(DAV, "getcontentlength"): _file_only(lambda res: str(res.size)),
    clark(DAV, "displayname"): lambda res, view: xml.text(res.path.rsplit("/", 1)[-1]),
    clark(DAV, "lockdiscovery"): _lockdiscovery,
    clark(DAV, "supportedlock"): lambda res, view: xml.SUPPORTED_LOCK,
    clark(DAV, "quota-used-bytes"): _dir_only(lambda res, view: str(res.size)),
    clark(DAV, "quota-available-bytes"): _dir_only(_quota_available),
    clark(OC, "id"): lambda res, view: xml.text(res.id),
    clark(OC, "fileid"): lambda res, view: xml.text(res.id),
    clark(OC, "spaceid"): lambda res, view: xml.text(res.id.partition(ID_SEPARATOR)[0]) if res.id else None,
    clark(OC, "permissions"): lambda res, view: res.permissions,
    clark(OC, "size"): lambda res, view: str(res.size),
    clark(OC, "checksums"): _checksums,
    FAVORITE: lambda res, view: "1" if res.props.get(FAVORITE) == "1" else "0",
    clark(OC, "owner-id"): lambda res, view: xml.text(res.owner_id),
    OWNER_DISPLAY_NAME: _owner_display_name,
    SHARE_TYPES: _share_types,
    clark(OC, "privatelink"): lambda res, view: (
        xml.text(view.private_links + res.id) if res.id and view.private_links else None
    ),
    clark(OC, "data-fingerprint"): lambda res, view: "",
    # Postprocessing (ocisd.api.postprocessing.v1.contract); scan-time as getlastmodified (RFC 1123).
    clark(OC, "processing-status"): _file_only(lambda res: res.processing_status or READY),
    clark(OC, "scan-status"): _scanned(lambda res: xml.text(res.scan_status)),
    clark(OC, "scan-time"): _scanned(lambda res: xml.http_date(res.scan_time) if res.scan_time else ""),
    clark(OC, "scan-partial"): _scanned(lambda res: "true" if res.scan_partial else "false"),
    clark(OC, "has-preview"): lambda res, view: "true" if res.has_preview else "false",
}
# Set through PROPPATCH, stored as plain text: "1" or "0".
SETTABLE_LIVE = {FAVORITE}
PROTECTED = set(LIVE) - SETTABLE_LIVE
QUOTA_PROPS = {clark(DAV, "quota-available-bytes")}


def wants_quota(req: PropfindRequest) -> bool:
    return req.kind == "allprop" or any(p in QUOTA_PROPS for p in req.props)


def _dead(res: Resource) -> dict[str, str]:
    return {k: v for k, v in res.props.items() if k not in LIVE} if res.props else {}


class Renderer:
    """Renders the `<d:response>` of each resource of one PROPFIND; tags are worked out once per request."""

    def __init__(self, req: PropfindRequest, view: View) -> None:
        self.kind = req.kind
        self.view = view
        self._base = quote(view.base, safe="/")
        names = req.props if req.kind == "prop" else list(LIVE)
        self._plan = [(name, LIVE.get(name), *xml.tags(name)) for name in names]

    def asks(self, name: str) -> bool:
        """Is the value of property `name` rendered (allprop or named)?"""
        return self.kind != "propname" and any(n == name for n, *_ in self._plan)

    def href(self, res: Resource) -> str:
        path = res.path
        link = self._base + (path if _PLAIN.match(path) else quote(path, safe="/"))
        return link + "/" if res.is_dir and not link.endswith("/") else link

    def render(self, res: Resource) -> str:
        """200 propstat first, then the 404 one."""
        view = self.view
        found: list[str] = []
        missing: list[str] = []
        for name, live, open_, close, empty in self._plan:
            value = live(res, view) if live is not None else None
            if value is not None:
                found.append(empty if self.kind == "propname" or not value else f"{open_}{value}{close}")
            elif live is None and name in res.props:
                found.append(xml.element(name) if self.kind == "propname" else res.props[name])
            elif self.kind == "prop":
                missing.append(empty)
        if self.kind != "prop":
            dead = _dead(res)
            found += [xml.element(n) for n in dead] if self.kind == "propname" else dead.values()
        stats = [xml.propstat(200, found)] if found or not missing else []
        if missing:
            stats.append(xml.propstat(404, missing))
        return xml.response(self.href(res), stats)
