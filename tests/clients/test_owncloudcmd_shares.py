"""The desktop sync engine (`owncloudcmd`) syncs a share both ways: the recipient's client picks up the
owner's change below /Shares, and the owner sees the editor's.

The WebDAV stack, its front door, the frontend, `sharing` and `storage-shares` behind
the TLS proxy, once in one runtime and once under supervisord; admin shares `proj` with bob
as editor and bob accepts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ocisd import identity
from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc as spb_grpc
from tests.clients.test_owncloudcmd import FRONT, Client, start, supervised
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment
from tests.support.identity import add_user, call, token_for

pytestmark = tools.needs("owncloudcmd")

BOB_PW = "bob-pw-for-tests"


def sharing(dep: Deployment, user_id: str, username: str, method: str, request: Any) -> Any:
    token = token_for(dep, identity.Identity(user_id=user_id, username=username))
    return call(dep, "sharing", spb_grpc.SharingStub, method, request, token)


@pytest.mark.parametrize("deployed", ["one-runtime", "supervisord"])
def test_recipient_and_owner_sync_a_shared_folder(dep: Deployment, tmp_path: Path, deployed: str) -> None:
    names = f"{webdav_stack.names(False)},{FRONT},sharing,storage-shares"
    if deployed == "supervisord":  # every extension its own program, storage-shares and sharing included
        with supervised(dep, names) as (_, client):
            sync_both_ways(client, tmp_path)
    else:
        sync_both_ways(start(dep, names), tmp_path)


def sync_both_ways(client: Client, tmp_path: Path) -> None:
    dep, admin = client.dep, client.dav
    admin_id = webdav_stack.secrets(dep)["admin_user_id"]
    bob_id = add_user(dep, "bob", BOB_PW)
    assert admin.request("MKCOL", "proj").status == 201
    assert admin.request("PUT", "proj/a.txt", b"first\n").status == 201
    proj = admin.request("PROPFIND", "proj", b"", {"Depth": "0"}).body.decode()
    resource_id = proj.split("<oc:fileid>")[1].split("<")[0]
    create = spb.CreateShareRequest(
        resource_id=resource_id, share_type=spb.SHARE_TYPE_USER, grantee_id=bob_id, permissions=bits.EDITOR
    )
    share = sharing(dep, admin_id, "admin", "CreateShare", create).share
    sharing(
        dep,
        bob_id,
        "bob",
        "UpdateReceivedShare",
        spb.UpdateReceivedShareRequest(id=share.id, state=spb.SHARE_STATE_ACCEPTED),
    )

    mine, theirs = tmp_path / "admin", tmp_path / "bob"
    res = client.sync(theirs, user="bob", password=BOB_PW)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (theirs / "Shares" / "proj" / "a.txt").read_text() == "first\n"

    # The owner changes the file: the recipient's next sync fetches it (the etags up to his root changed).
    assert admin.request("PUT", "proj/a.txt", b"owner's edit\n").status == 204
    assert client.sync(theirs, user="bob", password=BOB_PW).returncode == 0
    assert (theirs / "Shares" / "proj" / "a.txt").read_text() == "owner's edit\n"

    # The editor changes it and adds a file: they land in the owner's folder, and the owner's client gets them.
    (theirs / "Shares" / "proj" / "a.txt").write_text("editor's edit\n")
    (theirs / "Shares" / "proj" / "new.txt").write_text("from bob\n")
    assert client.sync(theirs, user="bob", password=BOB_PW).returncode == 0
    assert admin.request("GET", "proj/a.txt").body == b"editor's edit\n"
    assert client.sync(mine).returncode == 0
    assert (mine / "proj" / "new.txt").read_text() == "from bob\n"
    assert (mine / "proj" / "a.txt").read_text() == "editor's edit\n"
