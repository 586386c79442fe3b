"""The /Shares folder through the gateway and ocdav, over real processes and the real sharing service.

One deployment (tests.support.shares): the WebDAV stack with its front door and
`storage-shares` in one runtime, `sharing` as its own process so that the last
test can stop it by PID. The admin shares `docs` with bob (all bits) and as a
link; what is tested is bob's mount, the routing, the paths, the etags and the
properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from tests.support.harness import wait_until
from tests.support.shares import PROPS, Users, fileid, owner_and_recipient, propfind


@pytest.fixture(scope="module")
def users() -> Iterator[Users]:
    with owner_and_recipient(sharing_process=True) as users:
        yield users


@pytest.fixture(scope="module")
def mounted(users: Users) -> tuple[Users, str, str]:
    """bob accepted `docs` (all bits); the admin also shares it as a link. The docs id and bob's share id."""
    admin, bob = users.admin, users.bob
    assert admin.request("MKCOL", "docs").status == 201
    assert admin.request("PUT", "docs/a.txt", b"alpha").status == 201
    assert bob.request("PUT", "mine.txt", b"bob's own").status == 201
    share = users.share("docs", bits.ALL)
    users.share("docs", bits.VIEWER, spb.SHARE_TYPE_LINK)
    assert users.answer(share, spb.SHARE_STATE_ACCEPTED) == "docs"
    wait_until(lambda: bob.base + "/Shares/" in propfind(bob, ""), what="/Shares in bob's root")
    return users, fileid(admin, "docs"), share


def test_accepted_share_is_listed_under_shares_with_its_permissions(mounted: tuple[Users, str, str]) -> None:
    users, docs, _ = mounted
    bob = users.bob
    listing = propfind(bob, "Shares")
    mount = listing[bob.base + "/Shares/docs/"]
    assert mount["fileid"] == docs
    assert mount["permissions"] == "SRMDNVCK"
    inside = propfind(bob, "Shares/docs")
    assert set(inside) == {bob.base + "/Shares/docs/", bob.base + "/Shares/docs/a.txt"}
    assert inside[bob.base + "/Shares/docs/a.txt"]["permissions"] == "SRMDNVW"
    assert bob.request("GET", "Shares/docs/a.txt").body == b"alpha"


def test_writes_below_a_mount_land_in_the_owners_folder(mounted: tuple[Users, str, str]) -> None:
    users, _, _ = mounted
    admin, bob = users.admin, users.bob
    assert bob.request("PUT", "Shares/docs/b.txt", b"beta").status == 201
    assert admin.request("GET", "docs/b.txt").body == b"beta"
    assert bob.request("MKCOL", "Shares/docs/sub").status == 201
    moved = bob.request("MOVE", "Shares/docs/b.txt", headers={"Destination": bob.base + "/Shares/docs/sub/b.txt"})
    assert moved.status == 201
    assert admin.request("GET", "docs/sub/b.txt").body == b"beta"
    assert bob.request("DELETE", "Shares/docs/sub").status == 204
    assert admin.request("GET", "docs/sub/b.txt").status == 404


def test_nothing_but_mounts_in_shares_and_no_move_across_the_boundary(mounted: tuple[Users, str, str]) -> None:
    bob = mounted[0].bob
    assert bob.request("MKCOL", "Shares/new").status == 403
    assert bob.request("PUT", "Shares/new.txt", b"x").status == 403
    assert bob.request("PROPFIND", "Shares/nothing", PROPS, {"Depth": "0"}).status == 404
    out = bob.request("MOVE", "Shares/docs/a.txt", headers={"Destination": bob.base + "/a.txt"})
    assert out.status == 502
    into = bob.request("COPY", "mine.txt", headers={"Destination": bob.base + "/Shares/docs/copy.txt"})
    assert into.status == 502


def test_an_owner_change_changes_the_shares_and_home_root_etags(mounted: tuple[Users, str, str]) -> None:
    users, _, _ = mounted
    bob = users.bob
    root, folder = bob.base + "/", bob.base + "/Shares/"
    before = propfind(bob, "")
    assert before[folder]["getetag"] == propfind(bob, "Shares", "0")[folder]["getetag"]
    assert users.admin.request("PUT", "docs/a.txt", b"alpha, changed by the owner").status == 204
    after = propfind(bob, "")
    assert after[folder]["getetag"] != before[folder]["getetag"]
    assert after[root]["getetag"] != before[root]["getetag"]
    assert propfind(bob, "", "0")[root]["getetag"] == after[root]["getetag"]  # Depth 0 and 1 agree


def test_share_properties(mounted: tuple[Users, str, str]) -> None:
    users, docs, _ = mounted
    admin = users.admin
    home = propfind(admin, "")
    mine = home[admin.base + "/docs/"]
    assert re.findall(r">(\d)</[^>]*share-type>", mine["share-types"]) == ["0", "3"]
    assert mine["privatelink"].endswith("/f/" + docs)
    assert mine["owner-display-name"]
    assert "share-types" not in home[admin.base + "/"] or home[admin.base + "/"]["share-types"] == ""


def test_a_gone_resource_is_left_out_and_delete_declines(mounted: tuple[Users, str, str]) -> None:
    users, _, share = mounted
    admin, bob = users.admin, users.bob
    assert admin.request("MKCOL", "gone").status == 201
    assert users.answer(users.share("gone", bits.VIEWER), spb.SHARE_STATE_ACCEPTED) == "gone"
    assert admin.request("DELETE", "gone").status == 204
    assert set(propfind(bob, "Shares")) == {bob.base + "/Shares/", bob.base + "/Shares/docs/"}
    assert bob.request("DELETE", "Shares/docs").status == 204
    assert users.received_state(share) == spb.SHARE_STATE_DECLINED
    assert admin.request("GET", "docs/a.txt").status == 200  # the owner's data stays
    assert bob.request("PROPFIND", "Shares", PROPS, {"Depth": "0"}).status == 404
    wait_until(lambda: bob.base + "/Shares/" not in propfind(bob, ""), what="/Shares gone from bob's root")


def test_without_the_sharing_service_the_home_root_still_answers(mounted: tuple[Users, str, str]) -> None:
    users, _, share = mounted
    admin, bob = users.admin, users.bob
    again = users.answer(share, spb.SHARE_STATE_ACCEPTED)
    wait_until(lambda: bob.base + "/Shares/" in propfind(bob, ""), what="/Shares back in bob's root")
    assert users.sharing_proc is not None
    users.sharing_proc.stop()
    wait_until(lambda: bob.base + "/Shares/" not in propfind(bob, ""), what="a root without /Shares")
    assert bob.request("PROPFIND", f"Shares/{again}", PROPS, {"Depth": "0"}).status == 503
    assert bob.request("GET", "mine.txt").body == b"bob's own"
    assert admin.request("GET", "docs/a.txt").status == 200
