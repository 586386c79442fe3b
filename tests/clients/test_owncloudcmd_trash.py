"""owncloudcmd keeps syncing when files come back from the trash bin: a restored file or folder
reaches the client as a new one, in one runtime and with every extension under supervisord."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.clients.test_owncloudcmd import FRONT, Client, start, supervised
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment, wait_until

pytestmark = tools.needs("owncloudcmd")

TRASH = f"/remote.php/dav/trash-bin/{webdav_stack.ADMIN}"
OC = "{http://owncloud.org/ns}"


@pytest.mark.parametrize("deployed", ["one-runtime", "supervisord"])
def test_restored_items_reach_the_client(dep: Deployment, tmp_path: Path, deployed: str) -> None:
    names = f"{webdav_stack.names(False)},{FRONT}"
    if deployed == "supervisord":
        with supervised(dep, names) as (_, client):
            restore_and_sync(client, tmp_path / "local")
    else:
        restore_and_sync(start(dep, names), tmp_path / "local")


def restore_all(dav: webdav_stack.DavStack) -> None:
    listing = ET.fromstring(dav.request("PROPFIND", f"{TRASH}/", b"", {"Depth": "1"}).body)
    for resp in listing[1:]:
        where = resp.findtext(f".//{OC}trashbin-original-location")
        move = {"Destination": f"{dav.base}/{where}"}
        assert dav.request("MOVE", resp.findtext("{DAV:}href") or "", None, move).status == 201


def restore_and_sync(client: Client, local: Path) -> None:
    dav = client.dav

    def undelete() -> bool:
        caps = dav.request("GET", "/ocs/v2.php/cloud/capabilities?format=json").body
        return bool(json.loads(caps)["ocs"]["data"]["capabilities"]["files"]["undelete"])

    wait_until(undelete, 30, what="files.undelete advertised")
    local.mkdir()
    (local / "kept.txt").write_text("kept\n")
    (local / "folder" / "inner").mkdir(parents=True)
    (local / "folder" / "inner" / "deep.txt").write_text("deep\n")
    assert client.sync(local).returncode == 0

    # Deleted on the server: the client deletes its copies.
    assert dav.request("DELETE", "kept.txt").status == 204
    assert dav.request("DELETE", "folder").status == 204
    assert client.sync(local).returncode == 0
    assert not (local / "kept.txt").exists() and not (local / "folder").exists()

    # Restored on the server: the client downloads them as new files.
    restore_all(dav)
    assert client.sync(local).returncode == 0
    assert (local / "kept.txt").read_text() == "kept\n"
    assert (local / "folder" / "inner" / "deep.txt").read_text() == "deep\n"
    assert {r[1] for r in client.since_sync("GET")} >= {f"{dav.base}/kept.txt", f"{dav.base}/folder/inner/deep.txt"}

    # Deleted locally: the server keeps it in the bin, from where it comes back once more.
    (local / "kept.txt").unlink()
    assert client.sync(local).returncode == 0
    assert dav.request("GET", "kept.txt").status == 404
    restore_all(dav)
    assert client.sync(local).returncode == 0
    assert (local / "kept.txt").read_text() == "kept\n"
