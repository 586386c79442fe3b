"""The desktop sync engine after a version is restored on the server: it downloads the restored
content as a changed file, once, in one runtime and with every extension under supervisord."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.clients.test_owncloudcmd import FRONT, Client, prop, start, supervised
from tests.extensions.ocdav.test_versions import restore, versions
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment

pytestmark = tools.needs("owncloudcmd")


@pytest.mark.parametrize("deployed", ["one-runtime", "supervisord"])
def test_a_restored_version_syncs_down_as_a_changed_file(dep: Deployment, tmp_path: Path, deployed: str) -> None:
    names = f"{webdav_stack.names(False)},{FRONT}"
    if deployed == "supervisord":
        with supervised(dep, names) as (_, client):
            restore_and_sync(client, tmp_path)
    else:
        restore_and_sync(start(dep, names), tmp_path)


def restore_and_sync(client: Client, tmp_path: Path) -> None:
    dav, local = client.dav, tmp_path / "local"
    local.mkdir()
    for age, text in ((300, "one\n"), (200, "two\n"), (100, "three\n")):  # each edit is uploaded over the last
        (local / "doc.txt").write_text(text)
        when = time.time() - age  # a distinct mtime: the client sees an edit by mtime and size
        os.utime(local / "doc.txt", (when, when))
        res = client.sync(local)
        assert res.returncode == 0, res.stderr[-3000:]
    fid = prop(dav, "doc.txt", "{http://owncloud.org/ns}fileid")
    listed = versions(dav, fid)
    assert [dav.request("GET", f"/remote.php/dav/meta/{fid}/v/{v.key}").body for v in listed] == [b"two\n", b"one\n"]

    assert restore(dav, fid, listed[-1].key, "doc.txt").status == 204
    assert client.sync(local).returncode == 0
    assert (local / "doc.txt").read_text() == "one\n"
    assert [r[0] for r in client.since_sync("GET", "PUT") if r[1].endswith("/doc.txt")] == ["GET"]
    assert len(versions(dav, fid)) == 2  # "three" is a version now, "one" is current

    assert client.sync(local).returncode == 0  # and then nothing moves
    assert client.since_sync("PUT", "GET", "MOVE", "DELETE", "MKCOL") == []
