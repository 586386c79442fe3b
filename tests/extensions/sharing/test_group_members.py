"""A group share follows membership all the way to the storage, through the proxy.

The internal token names the caller's groups, and both the proxy and auth-basic
reuse a verified login (here for 5 minutes, far beyond this test), so a
membership change must drop what they cached for that user: a new member
reaches the shared folder on the next request, a removed one loses it.
Reached by file id (`/remote.php/dav/meta/<id>`), the storage's grant check is
what answers, not the share listing.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from dataclasses import replace
from urllib.parse import urlencode

from tests.support import sets, webdav_stack
from tests.support.harness import deployment, wait_until
from tests.support.identity import add_user, ocis_ok
from tests.support.webdav_stack import DavStack

PW = "member-pw-for-tests"
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
FILEID = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/></d:prop></d:propfind>'


def as_user(admin: DavStack, name: str) -> DavStack:
    basic = b64encode(f"{name}:{PW}".encode()).decode()
    return replace(admin, base=f"/remote.php/dav/files/{name}", auth={"Authorization": f"Basic {basic}"}, user=name)


def reaches(who: DavStack, fileid: str) -> bool:
    status = who.request("PROPFIND", f"/remote.php/dav/meta/{fileid}", FILEID, {"Depth": "0"}).status
    assert status in (207, 404), status
    return status == 207


def test_a_group_share_follows_membership_changes_at_once() -> None:
    with deployment() as dep:
        long_cache = {"PROXY_AUTH_CACHE_TTL": "300s", "AUTH_BASIC_CACHE_TTL": "300s", "PROXY_ACCESS_LOG": "false"}
        dep.start_runtime(sets.join(sets.SHARES, "ocs"), env=long_cache)
        admin = webdav_stack.connect(dep, True)
        for name in ("bob", "carol"):
            add_user(dep, name, PW)
        ocis_ok(dep, "groups", "add", "team")
        ocis_ok(dep, "groups", "add-member", "team", "bob")

        assert admin.request("MKCOL", "team-docs").status == 201
        assert admin.request("PUT", "team-docs/plan.txt", b"plan").status == 201
        listing = admin.request("PROPFIND", "team-docs", FILEID, {"Depth": "0"}).body.decode()
        match = re.search(r"<oc:fileid>([^<]+)</oc:fileid>", listing)
        assert match, listing
        fileid = match.group(1)
        form = {"path": "/team-docs", "shareType": "1", "shareWith": "team", "permissions": "1"}
        created = admin.request(
            "POST",
            SHARES + "?format=json",
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert created.status == 200, created.body
        assert json.loads(created.body)["ocs"]["data"]["share_with"] == "team"

        bob, carol = as_user(admin, "bob"), as_user(admin, "carol")
        assert reaches(bob, fileid)
        assert not reaches(carol, fileid)  # her verified login is now cached without the group

        ocis_ok(dep, "groups", "add-member", "team", "carol")
        wait_until(lambda: reaches(carol, fileid), 20, what="the new member reaches the shared folder")
        ocis_ok(dep, "groups", "remove-member", "team", "bob")
        wait_until(lambda: not reaches(bob, fileid), 20, what="the removed member loses the shared folder")
        assert reaches(carol, fileid)
