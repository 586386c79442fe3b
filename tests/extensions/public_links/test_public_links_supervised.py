"""A public link made through the OCS share API and used without an account, with `sharing`,
`storage-shares` and `storage-publiclink` (and every other extension) each its own program under supervisord."""

from __future__ import annotations

import json

from ocisd.api.sharing.v1 import permissions
from tests.core.test_supervisor import Sup
from tests.support import sets, webdav_stack
from tests.support.harness import Deployment, wait_until

from .links import basic, public

NAMES = sets.join(sets.PUBLIC_LINKS, "ocs", "storage-shares")
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "OCS-APIREQUEST": "true"}


def test_ocs_link_downloads_under_supervisord(dep: Deployment) -> None:
    with Sup(dep) as sup:
        sup.generate(NAMES, env={"PROXY_ACCESS_LOG": "false"})
        sup.run("start")
        dav = webdav_stack.connect(dep, proxied=True)
        pids = sup.pids()
        own = {pids[f"ocis-{n}"] for n in ("sharing", "storage-shares", "storage-publiclink", "ocdav", "proxy")}
        assert len(own) == 5  # each its own process

        assert dav.request("PUT", "handout.txt", b"for everyone").status == 201
        ask = f"path=/handout.txt&shareType=3&permissions={permissions.VIEWER}&password=hand+out".encode()
        made = wait_until(
            lambda: (r := dav.request("POST", SHARES, ask, FORM)).status == 200 and r, 30, what="OCS share API"
        )
        data = json.loads(made.body)["ocs"]["data"]
        token = data["token"]
        assert data["url"].endswith(f"/s/{token}") and data["share_type"] == 3

        assert public(dav, token, "GET").status == 401
        got = public(dav, token, "GET", headers=basic("public", "hand out"))
        assert (got.status, got.body) == (200, b"for everyone")
        page = dav.request("GET", f"/s/{token}", auth=False)
        assert page.status == 200 and b'type="password"' in page.body
