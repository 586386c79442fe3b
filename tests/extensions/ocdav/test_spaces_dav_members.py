"""Spaces URLs of spaces the caller does not own: the shares jail and another user's personal space.

The admin shares a folder with bob; bob reaches it as
`/remote.php/dav/spaces/<SHARES_SPACE_ID>/<mount>/` (his `/Shares/<mount>`), with
spaces hrefs. The admin's personal space id is no way into the admin's files for bob.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from ocisd.api.sharing.v1 import permissions
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.storage.v1.contract import SHARES_SPACE_ID, home_space_id
from tests.support.shares import Users, owner_and_recipient, propfind, responses

SPACES = "/remote.php/dav/spaces/"
JAIL = SPACES + SHARES_SPACE_ID


@pytest.fixture(scope="module")
def users() -> Iterator[Users]:
    with owner_and_recipient() as found:
        admin = found.admin
        assert admin.request("MKCOL", "team").status == 201
        assert admin.request("PUT", "team/plan.txt", b"the plan").status == 201
        assert admin.request("PUT", "private.txt", b"mine").status == 201
        share = found.share("team", permissions.EDITOR)
        assert found.answer(share, spb.SHARE_STATE_ACCEPTED) == "team"
        yield found


def test_the_shares_jail_lists_and_serves_accepted_shares(users: Users) -> None:
    bob = replace(users.bob, base=JAIL)
    listing = propfind(bob, "")
    assert JAIL + "/" in listing and JAIL + "/team/" in listing, listing
    assert "S" in listing[JAIL + "/team/"]["permissions"]
    inside = propfind(bob, "team/")
    assert set(inside) == {JAIL + "/team/", JAIL + "/team/plan.txt"}
    assert bob.request("GET", "team/plan.txt").body == b"the plan"
    assert bob.request("PUT", "team/bob.txt", b"from bob").status == 201
    assert users.admin.request("GET", "team/bob.txt").body == b"from bob"
    assert bob.request("GET", "missing.txt").status == 404
    search = (
        b'<?xml version="1.0"?><oc:search-files xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
        b"<d:prop><oc:fileid/></d:prop><oc:search><oc:pattern>plan</oc:pattern></oc:search></oc:search-files>"
    )
    found = bob.request("REPORT", "team/", search)
    assert found.status == 207 and responses(found.body).keys() == {JAIL + "/team/plan.txt"}, found


def test_another_users_personal_space_is_not_found(users: Users) -> None:
    admin_space = SPACES + home_space_id(users.admin_id)
    bob = replace(users.bob, base=admin_space)
    assert bob.request("PROPFIND", "", b"", {"Depth": "0"}).status == 404
    assert bob.request("GET", "private.txt").status == 404
    assert bob.request("PUT", "intruder.txt", b"x").status == 404
    assert users.admin.request("GET", "intruder.txt").status == 404
    # What bob may reach through a grant, he reaches by the owner's space id too: the storage decides.
    assert bob.request("GET", "team/plan.txt").status == 200
