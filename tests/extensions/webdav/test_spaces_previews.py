"""`?preview=1` on spaces URLs through the proxy: the caller's personal space and a project space they manage,
nobody else's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.api.storage.v1.contract import home_space_id, new_space_id
from tests.support import webdav_stack
from tests.support.harness import deployment
from tests.support.identity import FAST_ARGON2, add_user, basic, service_call
from tests.support.webdav_stack import DavStack

from .previews import PREVIEWS, image, preview, sabre, size_of

BOB_PW = "bob-pw-for-space-previews"


@pytest.fixture(scope="module")
def users() -> Iterator[tuple[DavStack, DavStack, str]]:
    with deployment() as dep:
        dep.env.update(FAST_ARGON2)
        dep.start_runtime(f"{webdav_stack.names(True)},{PREVIEWS}", env={"PROXY_ACCESS_LOG": "false"})
        admin = webdav_stack.connect(dep, True)
        admin_id = webdav_stack.secrets(dep)["admin_user_id"]
        space = home_space_id(admin_id)
        made = pb.CreateSpaceRequest(space_id=new_space_id(), name="Pictures", manager_id=admin_id)
        project = service_call(dep, "gateway", pb_grpc.StorageStub, "CreateSpace", made).space.id
        add_user(dep, "bob", BOB_PW)
        bob = replace(admin, auth={"Authorization": basic("bob", BOB_PW)}, user="bob", password=BOB_PW)
        base = f"/remote.php/dav/spaces/{space}"
        yield replace(admin, base=base), replace(bob, base=base), f"/remote.php/dav/spaces/{project}"


def test_previews_on_the_personal_space(users: tuple[DavStack, DavStack, str]) -> None:
    admin, bob, _ = users
    assert admin.request("PUT", "s.png", image("PNG", 200, 100)).status == 201
    assert size_of(preview(admin, "s.png", "x=64&y=64")) == ("PNG", (64, 32))
    head = preview(admin, "s.png", "x=64&y=64", method="HEAD")
    assert head.status == 200 and head.headers["ETag"]
    sabre(preview(admin, "missing.png"), 404, "NotFound")
    sabre(preview(admin, "/remote.php/dav/spaces/no-such-space/s.png"), 404, "NotFound")
    sabre(preview(bob, "s.png"), 404, "NotFound")  # the admin's space id is no way in for bob


def test_previews_in_a_project_space_for_members_only(users: tuple[DavStack, DavStack, str]) -> None:
    admin, bob, project = users
    assert admin.request("PUT", f"{project}/p.jpg", image("JPEG", 400, 300)).status == 201
    assert size_of(preview(admin, f"{project}/p.jpg", "x=64&y=64")) == ("JPEG", (64, 48))
    sabre(preview(bob, f"{project}/p.jpg"), 404, "NotFound")
