"""Spaces URLs in `ocisd.davpaths`: parsing, the storage reference of each kind of space, answers' paths."""

from __future__ import annotations

import pytest

from ocisd import davpaths
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import SHARES_SPACE_ID

HOME = "alice-id"


def test_spaces_urls_parse_with_their_space_id() -> None:
    found = davpaths.parse("/remote.php/dav/spaces/p1/a%20b/./c/../d")
    assert found == davpaths.DavPath("/remote.php/dav/spaces/p1", None, "/a b/d", "p1")
    assert davpaths.parse("/dav/spaces/p1").path == "/"
    assert davpaths.parse("/remote.php/dav/files/alice/x").space == ""
    for bad in ("/remote.php/dav/spaces/", "/remote.php/dav/spaces/a!b/x", "/remote.php/dav/spaces/%2e%2e/x"):
        with pytest.raises(davpaths.PathError) as err:
            davpaths.parse(bad)
        assert err.value.status == 404, bad
    with pytest.raises(davpaths.PathError) as err:
        davpaths.parse("/remote.php/dav/spaces/p1/../x")
    assert err.value.status == 400


def test_each_kind_of_space_has_its_reference() -> None:
    def ref(url: str) -> pb.Reference:
        return davpaths.reference(davpaths.parse(url), HOME)

    assert ref(f"/remote.php/dav/spaces/{HOME}/x") == pb.Reference(space_id=HOME, path="/x")
    assert ref("/remote.php/dav/spaces/p1/x") == pb.Reference(node_id="p1!p1", path="/x")
    assert ref("/remote.php/dav/spaces/p1/") == pb.Reference(node_id="p1!p1", path="/")
    assert ref(f"/remote.php/dav/spaces/{SHARES_SPACE_ID}/") == pb.Reference(path="/Shares")
    assert ref(f"/remote.php/dav/spaces/{SHARES_SPACE_ID}/d/x") == pb.Reference(path="/Shares/d/x")
    assert ref("/remote.php/dav/files/alice/x") == pb.Reference(path="/x")
    where = davpaths.parse("/remote.php/dav/spaces/p1/x")
    assert davpaths.reference(where, HOME, "/y") == pb.Reference(node_id="p1!p1", path="/y")


def test_answers_paths_in_the_shares_jail() -> None:
    assert davpaths.in_space(SHARES_SPACE_ID, "/Shares/d/x") == "/d/x"
    assert davpaths.in_space(SHARES_SPACE_ID, "/Shares") == "/"
    assert davpaths.in_space(SHARES_SPACE_ID, "/Sharesx") == "/Sharesx"
    assert davpaths.in_space("p1", "/Shares/d") == "/Shares/d"
