"""A recipient's /Shares with the real sharing service and storage grants, through the TLS proxy.

One runtime: the WebDAV stack with its front door, `sharing` and `storage-shares`
(tests.support.shares). The admin owns the folders and shares them with bob;
bob reaches them only through his /Shares.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from tests.support.harness import wait_until
from tests.support.shares import Users, fileid, owner_and_recipient, propfind
from tests.support.webdav_stack import DavStack

QUOTA = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/></d:prop></d:propfind>'


@pytest.fixture(scope="module")
def users() -> Iterator[Users]:
    with owner_and_recipient() as users:
        yield users


@pytest.fixture(scope="module")
def mounted(users: Users) -> Users:
    """bob accepted `proj` (editor) and `view` (viewer); `nope` he declined."""
    admin = users.admin
    for folder in ("proj", "view", "nope", "other", "other/proj"):
        assert admin.request("MKCOL", folder).status == 201
    assert admin.request("PUT", "proj/a.txt", b"alpha").status == 201
    assert admin.request("PUT", "view/v.txt", b"viewed").status == 201
    shares = {
        "proj": users.share("proj", bits.EDITOR),
        "view": users.share("view", bits.VIEWER),
        "nope": users.share("nope", bits.VIEWER),
    }
    assert users.bob.request("PROPFIND", "Shares", b"", {"Depth": "0"}).status == 404  # pending: nothing mounted
    assert users.answer(shares["proj"], spb.SHARE_STATE_ACCEPTED) == "proj"
    assert users.answer(shares["view"], spb.SHARE_STATE_ACCEPTED) == "view"
    users.answer(shares["nope"], spb.SHARE_STATE_DECLINED)
    wait_until(lambda: users.bob.base + "/Shares/" in propfind(users.bob, ""), what="/Shares in bob's root")
    return users


def test_accepted_shares_are_mounted_and_a_clash_gets_a_number(mounted: Users) -> None:
    bob = mounted.bob
    listing = propfind(bob, "Shares")
    assert set(listing) == {bob.base + "/Shares/", bob.base + "/Shares/proj/", bob.base + "/Shares/view/"}
    assert listing[bob.base + "/Shares/proj/"]["permissions"] == "SMDNVCK"
    assert listing[bob.base + "/Shares/view/"]["permissions"] == "SM"
    clash = mounted.share("other/proj", bits.VIEWER)
    assert mounted.answer(clash, spb.SHARE_STATE_ACCEPTED) == "proj (2)"
    assert bob.base + "/Shares/" + quote("proj (2)") + "/" in propfind(bob, "Shares")
    # Moving a mount point within /Shares renames it (accepted again under the new name); a taken name is refused.
    taken = bob.request(
        "MOVE", "Shares/proj%20(2)", headers={"Destination": bob.base + "/Shares/view", "Overwrite": "F"}
    )
    assert taken.status == 412
    renamed = bob.request("MOVE", "Shares/proj%20(2)", headers={"Destination": bob.base + "/Shares/renamed"})
    assert renamed.status == 201
    assert bob.base + "/Shares/renamed/" in propfind(bob, "Shares")
    assert bob.request("GET", "Shares/proj/a.txt").status == 200  # the other mount is untouched


def test_a_viewer_reads_but_cannot_write(mounted: Users) -> None:
    bob = mounted.bob
    assert bob.request("GET", "Shares/view/v.txt").body == b"viewed"
    assert bob.request("PUT", "Shares/view/new.txt", b"x").status == 403
    assert bob.request("PUT", "Shares/view/v.txt", b"x").status == 403
    assert bob.request("DELETE", "Shares/view/v.txt").status == 403
    assert bob.request("MKCOL", "Shares/view/sub").status == 403
    assert mounted.admin.request("GET", "view/v.txt").body == b"viewed"


def quota_used(dav: DavStack) -> int:
    reply = dav.request("PROPFIND", "", QUOTA, {"Depth": "0"})
    found = re.search(rb"<d:quota-used-bytes>(\d+)<", reply.body)
    assert found is not None, reply.body
    return int(found[1])


def test_an_editors_writes_land_in_the_owners_space_and_quota(mounted: Users) -> None:
    bob, admin = mounted.bob, mounted.admin
    admin_used, bob_used = quota_used(admin), quota_used(bob)
    assert bob.request("PUT", "Shares/proj/b.txt", b"b" * 1000).status == 201
    assert bob.request("MKCOL", "Shares/proj/sub").status == 201
    assert admin.request("GET", "proj/b.txt").body == b"b" * 1000
    assert admin.request("PROPFIND", "proj/sub", b"", {"Depth": "0"}).status == 207
    assert quota_used(admin) == admin_used + 1000
    assert quota_used(bob) == bob_used
    inside = propfind(bob, "Shares/proj")
    assert inside[bob.base + "/Shares/proj/b.txt"]["owner-id"] == mounted.admin_id
    assert inside[bob.base + "/Shares/proj/b.txt"]["permissions"] == "SMDNVW"
    moved = bob.request("MOVE", "Shares/proj/b.txt", headers={"Destination": bob.base + "/b.txt"})
    assert moved.status == 502  # across the mount boundary


def test_an_owners_change_reaches_the_recipients_etags(mounted: Users) -> None:
    bob = mounted.bob
    root, folder = bob.base + "/", bob.base + "/Shares/"
    before = propfind(bob, "")
    assert mounted.admin.request("PUT", "proj/a.txt", b"alpha, again").status == 204
    after = propfind(bob, "")
    assert after[folder]["getetag"] != before[folder]["getetag"]
    assert after[root]["getetag"] != before[root]["getetag"]


def test_share_properties_for_owner_and_recipient(mounted: Users) -> None:
    admin, bob = mounted.admin, mounted.bob
    mine = propfind(admin, "")[admin.base + "/proj/"]
    assert re.findall(r">(\d)</[^>]*share-type>", mine["share-types"]) == ["0"]
    theirs = propfind(bob, "Shares", "1")[bob.base + "/Shares/proj/"]
    assert theirs["owner-id"] == mounted.admin_id
    assert theirs["owner-display-name"] not in ("", "bob")
    assert theirs["privatelink"].endswith("/f/" + theirs["fileid"])
    assert theirs["fileid"] == fileid(admin, "proj")


def test_an_editors_chunked_upload_lands_in_the_owners_folder(mounted: Users) -> None:
    """Chunking NG, as the desktop client sends files over 10 MB: a session, chunks, MOVE .file into the mount."""
    bob = mounted.bob
    uploads = "/remote.php/dav/uploads/bob/t-share"
    data = b"0123456789" * 1000
    assert bob.request("MKCOL", uploads, headers={"OC-Total-Length": str(len(data))}).status == 201
    for offset in (0, 5000):
        chunk = data[offset : offset + 5000]
        put = bob.request("PUT", f"{uploads}/{offset:016d}", chunk, {"OC-Chunk-Offset": str(offset)})
        assert put.status == 201
    headers = {"Destination": bob.base + "/Shares/proj/chunked.bin", "OC-Total-Length": str(len(data))}
    assembled = bob.request("MOVE", uploads + "/.file", None, headers)
    assert assembled.status == 201, assembled.body
    assert mounted.admin.request("GET", "proj/chunked.bin").body == data


def test_a_shared_file_is_mounted_as_a_file(mounted: Users) -> None:
    admin, bob = mounted.admin, mounted.bob
    assert admin.request("PUT", "single.txt", b"one").status == 201
    share = mounted.share("single.txt", bits.READ | bits.UPDATE)
    assert mounted.answer(share, spb.SHARE_STATE_ACCEPTED) == "single.txt"
    entry = wait_until(lambda: propfind(bob, "Shares").get(bob.base + "/Shares/single.txt"), what="the file mount")
    assert entry["permissions"] == "SMNVW"
    assert bob.request("GET", "Shares/single.txt").body == b"one"
    assert bob.request("PUT", "Shares/single.txt", b"two").status == 204
    assert admin.request("GET", "single.txt").body == b"two"


def test_an_editors_tus_upload_lands_in_the_owners_folder(mounted: Users) -> None:
    """TUS, creation then a separate PATCH: the session lives in the owner's space, its URL says so."""
    bob = mounted.bob
    meta = "filename " + b64encode(b"tus.bin").decode()
    tus = {"Tus-Resumable": "1.0.0"}
    created = bob.request("POST", "Shares/proj/", b"", {**tus, "Upload-Length": "10", "Upload-Metadata": meta})
    assert created.status == 201, created.body
    location = "/" + created.headers["Location"].split("/", 3)[3]
    patch = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert bob.request("PATCH", location, b"0123456789", patch).status == 204
    assert mounted.admin.request("GET", "proj/tus.bin").body == b"0123456789"
