"""Spaces URLs of spaces the caller does not own: a project space, the shares jail, another user's space.

A project space made by a service (CreateSpace) with the admin as manager, who
adds bob as editor and carol as viewer (AddGrant on the root, through the
gateway as the manager): the roles hold in WebDAV (viewer 403 on writes, dave,
no member, 404), and the space's own quota shows. The admin shares a folder with
bob; bob reaches it as `/remote.php/dav/spaces/<SHARES_SPACE_ID>/<mount>/` (his
`/Shares/<mount>`). The admin's personal space id is no way into the admin's
files for bob beyond his grants.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from ocisd import identity
from ocisd.api.sharing.v1 import permissions
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import SHARES_SPACE_ID, SPACE_ROLES, home_space_id, new_space_id
from tests.extensions.ocdav.test_spaces_dav import LOCK_INFO, PROPS, chunked, tus
from tests.support.identity import add_user, basic, call, service_call, token_for
from tests.support.shares import Users, owner_and_recipient, propfind, responses
from tests.support.webdav_stack import DavStack

SPACES = "/remote.php/dav/spaces/"
JAIL = SPACES + SHARES_SPACE_ID
SPACE_QUOTA = 1_000_000
UPLOADS = "/remote.php/dav/uploads/bob"
SEARCH_PLAN = (
    b'<?xml version="1.0"?><oc:search-files xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
    b"<d:prop><oc:fileid/></d:prop><oc:search><oc:pattern>plan</oc:pattern></oc:search></oc:search-files>"
)


@dataclass
class Project:
    space_id: str
    manager: DavStack  # the admin
    editor: DavStack  # bob
    viewer: DavStack  # carol
    stranger: DavStack  # dave, no member


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


def lock_root(body: bytes) -> str:
    return ET.fromstring(body).findtext(".//{DAV:}lockroot/{DAV:}href") or ""


def test_the_shares_jail_lists_and_serves_accepted_shares(users: Users) -> None:
    bob = replace(users.bob, base=JAIL)
    listing = propfind(bob, "")
    assert JAIL + "/" in listing and JAIL + "/team/" in listing, listing
    assert "S" in listing[JAIL + "/team/"]["permissions"]
    assert bob.request("PROPFIND", "", b"", {"Depth": "1"}).status == 207  # allprop: quota too
    inside = propfind(bob, "team/")
    assert set(inside) == {JAIL + "/team/", JAIL + "/team/plan.txt"}
    assert bob.request("GET", "team/plan.txt").body == b"the plan"
    assert bob.request("PUT", "team/bob.txt", b"from bob").status == 201
    assert users.admin.request("GET", "team/bob.txt").body == b"from bob"
    assert bob.request("GET", "missing.txt").status == 404
    found = bob.request("REPORT", "team/", SEARCH_PLAN)
    assert found.status == 207 and responses(found.body).keys() == {JAIL + "/team/plan.txt"}, found
    # Lock roots as jail hrefs too, in the LOCK answer and in lockdiscovery.
    lock = bob.request("LOCK", "team/plan.txt", LOCK_INFO, {"Timeout": "Second-60"})
    assert lock.status == 200 and lock_root(lock.body) == JAIL + "/team/plan.txt", lock
    discovery = b'<d:propfind xmlns:d="DAV:"><d:prop><d:lockdiscovery/></d:prop></d:propfind>'
    listed = bob.request("PROPFIND", "team/plan.txt", discovery, {"Depth": "0"})
    assert lock_root(listed.body) == JAIL + "/team/plan.txt", listed
    assert bob.request("UNLOCK", "team/plan.txt", None, {"Lock-Token": lock.headers["Lock-Token"]}).status == 204


def test_another_users_personal_space_is_not_found(users: Users) -> None:
    admin_space = SPACES + home_space_id(users.admin_id)
    bob = replace(users.bob, base=admin_space)
    assert bob.request("PROPFIND", "", b"", {"Depth": "0"}).status == 404
    assert bob.request("GET", "private.txt").status == 404
    assert bob.request("PUT", "intruder.txt", b"x").status == 404
    assert users.admin.request("GET", "intruder.txt").status == 404
    # What bob may reach through a grant, he reaches by the owner's space id too: the storage decides.
    assert bob.request("GET", "team/plan.txt").status == 200


@pytest.fixture(scope="module")
def project(users: Users) -> Project:
    dep = users.dep
    made = service_call(
        dep,
        "gateway",
        pb_grpc.StorageStub,
        "CreateSpace",
        pb.CreateSpaceRequest(space_id=new_space_id(), name="Team", manager_id=users.admin_id, quota=SPACE_QUOTA),
    )
    sid = made.space.id
    manager = token_for(dep, identity.Identity(user_id=users.admin_id, username="admin"))
    for user_id, role in ((users.bob_id, "editor"), (add_user(dep, "carol", "carol-pw"), "viewer")):
        g = pb.Grant(grantee=pb.Grantee(type="user", id=user_id), permissions=SPACE_ROLES[role])
        request = pb.AddGrantRequest(ref=pb.Reference(node_id=f"{sid}!{sid}"), grant=g)
        call(dep, "gateway", pb_grpc.StorageStub, "AddGrant", request, manager)
    add_user(dep, "dave", "dave-pw")
    base = SPACES + sid

    def as_user(name: str, password: str) -> DavStack:
        auth = {"Authorization": basic(name, password)}
        return replace(users.admin, base=base, auth=auth, user=name, password=password)

    return Project(
        sid,
        replace(users.admin, base=base),
        replace(users.bob, base=base),
        as_user("carol", "carol-pw"),
        as_user("dave", "dave-pw"),
    )


def test_project_space_editor_writes_with_space_props(project: Project) -> None:
    bob = project.editor
    assert bob.request("MKCOL", "docs").status == 201
    put = bob.request("PUT", "docs/a.txt", b"project data")
    assert put.status == 201, put
    listing = propfind(bob, "docs/")
    base = SPACES + project.space_id
    assert set(listing) == {base + "/docs/", base + "/docs/a.txt"}
    reply = bob.request("PROPFIND", "", PROPS, {"Depth": "0"})
    root = responses(reply.body)[base + "/"]
    assert root["spaceid"] == project.space_id and root["id"] == f"{project.space_id}!{project.space_id}"
    assert int(root["quota-available-bytes"]) == SPACE_QUOTA - int(root["quota-used-bytes"])
    moved = bob.request("MOVE", "docs/a.txt", None, {"Destination": f"{base}/docs/b.txt"})
    assert moved.status == 201 and moved.headers["OC-FileId"] == put.headers["OC-FileId"]
    assert project.manager.request("GET", "docs/b.txt").body == b"project data"
    found = bob.request("REPORT", "", SEARCH_PLAN.replace(b"plan", b"b.txt"))
    assert found.status == 207 and responses(found.body).keys() == {base + "/docs/b.txt"}, found
    # Between spaces as between a share and a home: the storage does not move across spaces.
    away = bob.request("MOVE", "docs/b.txt", None, {"Destination": "/remote.php/dav/files/bob/b.txt"})
    assert away.status == 502 and bob.request("GET", "docs/b.txt").status == 200
    assert bob.request("DELETE", "docs/b.txt").status == 204


def test_project_space_viewer_reads_only_and_strangers_see_nothing(project: Project) -> None:
    assert project.manager.request("PUT", "readme.txt", b"read me").status == 201
    carol, dave = project.viewer, project.stranger
    assert carol.request("GET", "readme.txt").body == b"read me"
    carols = next(iter(propfind(carol, "readme.txt", "0").values()))["permissions"]
    bobs = next(iter(propfind(project.editor, "readme.txt", "0").values()))["permissions"]
    assert "W" not in carols and "D" not in carols and {"W", "D"} <= set(bobs), (carols, bobs)
    assert carol.request("PROPFIND", "", b"", {"Depth": "1"}).status == 207
    assert carol.request("PUT", "readme.txt", b"overwrite").status == 403
    assert carol.request("PUT", "new.txt", b"new").status == 403
    assert carol.request("DELETE", "readme.txt").status == 403
    assert carol.request("MKCOL", "mine").status == 403
    for method, body in (("PROPFIND", b""), ("GET", None), ("PUT", b"x"), ("DELETE", None)):
        assert dave.request(method, "readme.txt", body, {"Depth": "0"}).status == 404, method
    assert dave.request("PROPFIND", "", b"", {"Depth": "0"}).status == 404


def test_chunking_and_tus_into_a_project_space(project: Project) -> None:
    bob = project.editor
    data = os.urandom(150_000)
    done = chunked(bob, UPLOADS, data, f"{bob.base}/chunked.bin")
    assert done.status == 201 and done.headers["OC-FileId"].startswith(project.space_id + "!"), done
    assert project.manager.request("GET", "chunked.bin").body == data
    assert tus(bob, "", "tus.bin", data)[1].status == 204
    assert project.manager.request("GET", "tus.bin").body == data
    assert tus(project.viewer, "", "no.bin", data)[0].status == 403


def test_a_disabled_space_is_forbidden_to_its_manager_and_gone_for_members(users: Users) -> None:
    dep, sid = users.dep, new_space_id()
    create = pb.CreateSpaceRequest(space_id=sid, name="Closed", manager_id=users.admin_id)
    service_call(dep, "gateway", pb_grpc.StorageStub, "CreateSpace", create)
    manager = token_for(dep, identity.Identity(user_id=users.admin_id, username="admin"))
    g = pb.Grant(grantee=pb.Grantee(type="user", id=users.bob_id), permissions=SPACE_ROLES["editor"])
    grant = pb.AddGrantRequest(ref=pb.Reference(node_id=f"{sid}!{sid}"), grant=g)
    call(dep, "gateway", pb_grpc.StorageStub, "AddGrant", grant, manager)
    admin, bob = replace(users.admin, base=SPACES + sid), replace(users.bob, base=SPACES + sid)
    assert admin.request("PUT", "kept.txt", b"kept").status == 201
    service_call(dep, "gateway", pb_grpc.StorageStub, "DeleteSpace", pb.DeleteSpaceRequest(space_id=sid))
    assert admin.request("GET", "kept.txt").status == 403
    assert admin.request("PROPFIND", "", b"", {"Depth": "0"}).status == 403
    assert bob.request("GET", "kept.txt").status == 404
    assert bob.request("PUT", "new.txt", b"x").status == 404
    restore = pb.UpdateSpaceRequest(space_id=sid, restore=True)
    service_call(dep, "gateway", pb_grpc.StorageStub, "UpdateSpace", restore)
    assert bob.request("GET", "kept.txt").body == b"kept"
