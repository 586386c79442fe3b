"""The OCS share API through the HTTPS proxy, as ownCloud clients and pyocclient call it."""

from __future__ import annotations

import datetime
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import owncloud
import pytest
import requests

from ocisd.api.sharing.v1.permissions import EDITOR
from tests.extensions.sharing.stack import PASSWORD, SharingStack, sharing_stack
from tests.support import sets
from tests.support.harness import wait_until

RUN = sets.join(sets.SHARING, sets.WEBDAV, "ocs", "frontend")
API = "apps/files_sharing/api/v1"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the self-signed proxy


class Ocs:
    def __init__(self, stack: SharingStack) -> None:
        self.stack = stack
        self.root = f"https://{stack.dep.addr('proxy', 'http_addr')}"

    def __call__(
        self, method: str, path: str, who: str = "alice", v: int = 2, fmt: str = "json", **kw: Any
    ) -> tuple[int, Any]:
        """One call; answers (HTTP status, the `ocs` object) for JSON, (status, XML root) for XML."""
        sep = "&" if "?" in path else "?"
        url = f"{self.root}/ocs/v{v}.php/{API}/{path}" + (f"{sep}format=json" if fmt == "json" else "")
        reply = requests.request(method, url, auth=(who, PASSWORD), verify=False, timeout=30, **kw)
        if fmt == "json":
            return reply.status_code, reply.json()["ocs"]
        return reply.status_code, ET.fromstring(reply.content)


@pytest.fixture(scope="module")
def ocs() -> Iterator[Ocs]:
    saved = {k: os.environ.pop(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if k in os.environ}
    try:
        with sharing_stack(RUN, env={"PROXY_ACCESS_LOG": "false"}) as stack:
            api = Ocs(stack)
            wait_until(lambda: api("GET", "shares")[0] == 200, 30, what="the share API behind the proxy")
            yield api
    finally:
        os.environ.update(saved)


def test_user_share_life_cycle_in_v1_v2_xml_and_json(ocs: Ocs) -> None:
    folder = ocs.stack.mkdir("/ocs-docs")
    status, body = ocs(
        "POST", "shares", data={"path": "/ocs-docs", "shareType": 0, "shareWith": "bob", "permissions": 1}
    )
    assert status == 200 and body["meta"]["statuscode"] == 200, body
    share = body["data"]
    assert share["id"].isdigit() and share["share_type"] == 0 and share["permissions"] == 1
    assert (share["uid_owner"], share["uid_file_owner"], share["share_with"]) == ("alice", "alice", "bob")
    assert share["path"] == share["file_target"] == "/ocs-docs" and share["item_type"] == "folder"
    assert share["item_source"] == share["file_source"] == folder.id and share["mimetype"] == "httpd/unix-directory"
    assert share["expiration"] is None and share["token"] is None and share["url"] is None and share["stime"] > 0

    status, root = ocs("GET", "shares?path=/ocs-docs", v=1, fmt="xml")
    assert status == 200 and root.findtext("meta/statuscode") == "100"
    elements = root.findall("data/element")
    assert [e.findtext("id") for e in elements] == [share["id"]] and elements[0].findtext("share_with") == "bob"

    status, body = ocs("PUT", f"shares/{share['id']}", json={"permissions": 15})
    assert status == 200 and body["data"]["permissions"] == 15
    status, body = ocs("GET", f"shares/{share['id']}", v=1)
    assert status == 200 and body["meta"]["statuscode"] == 100 and body["data"][0]["permissions"] == 15

    pending = ocs("GET", "shares?shared_with_me=true&state=pending", who="bob")[1]["data"]
    mine = [s for s in pending if s["id"] == share["id"]]
    assert mine and mine[0]["state"] == 1 and mine[0]["path"] == mine[0]["file_target"] == "/Shares/ocs-docs"
    assert mine[0]["uid_owner"] == "alice" and mine[0]["share_with"] == "bob"
    assert ocs("POST", f"shares/pending/{share['id']}", who="bob")[1]["data"][0]["state"] == 0
    assert ocs("GET", f"shares/{share['id']}", who="bob")[1]["data"][0]["path"] == "/Shares/ocs-docs"
    accepted = ocs("GET", "shares?shared_with_me=true", who="bob")[1]["data"]
    assert share["id"] in {s["id"] for s in accepted}
    assert ocs("DELETE", f"shares/pending/{share['id']}", who="bob")[1]["data"][0]["state"] == 2
    declined = ocs("GET", "shares?shared_with_me=true&state=declined", who="bob")[1]["data"]
    assert share["id"] in {s["id"] for s in declined}

    status, body = ocs("DELETE", f"shares/{share['id']}")
    assert status == 200 and body["meta"]["status"] == "ok"
    status, body = ocs("GET", f"shares/{share['id']}")
    assert status == 404 and body["meta"]["statuscode"] == 404
    status, body = ocs("GET", f"shares/{share['id']}", v=1)
    assert status == 200 and body["meta"]["statuscode"] == 404


def test_group_and_link_shares_carry_owncloud_fields(ocs: Ocs) -> None:
    ocs.stack.mkdir("/ocs-team")
    ocs.stack.upload("/ocs-team/plan.txt", b"the plan")
    status, body = ocs("POST", "shares", data={"path": "/ocs-team", "shareType": 1, "shareWith": "team"})
    assert (
        status == 200 and body["data"]["share_with"] == "team" and body["data"]["share_with_displayname"] == "The Team"
    )
    assert body["data"]["permissions"] == 31  # everything the owner holds, by default
    assert "/Shares/ocs-team" in {
        s["path"] for s in ocs("GET", "shares?shared_with_me=true&state=all", who="carol")[1]["data"]
    }

    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    form = {
        "path": "/ocs-team",
        "shareType": 3,
        "password": "pw",
        "expireDate": tomorrow,
        "name": "upload here",
        "publicUpload": "true",
    }
    status, body = ocs("POST", "shares", v=1, data=form)
    link = body["data"]
    assert status == 200 and body["meta"]["statuscode"] == 100, body
    assert link["share_type"] == 3 and link["permissions"] == 7 and len(link["token"]) >= 15
    assert link["url"] == f"https://localhost:9200/s/{link['token']}" and link["name"] == "upload here"
    assert link["expiration"] == f"{tomorrow} 00:00:00" and link["share_with"] == "***redacted***"
    status, body = ocs("PUT", f"shares/{link['id']}", data={"expireDate": "", "password": ""})
    assert status == 200 and body["data"]["expiration"] is None and body["data"]["share_with"] is None

    status, body = ocs("POST", "shares", json={"path": "/ocs-team/plan.txt", "shareType": 3})
    assert status == 200 and body["data"]["item_type"] == "file" and body["data"]["mimetype"] == "text/plain"
    subfiles = ocs("GET", "shares?path=/ocs-team&subfiles=true")[1]["data"]
    assert [s["path"] for s in subfiles] == ["/ocs-team/plan.txt"]


def test_bad_input_is_refused_and_creates_nothing(ocs: Ocs) -> None:
    ocs.stack.mkdir("/ocs-bad")
    ocs.stack.upload("/ocs-bad/file.txt", b"x")
    ok = ocs("POST", "shares", data={"path": "/ocs-bad", "shareType": 0, "shareWith": "bob", "permissions": 17})
    assert ok[0] == 200
    before = len(ocs("GET", "shares?reshares=true")[1]["data"])
    yesterday = (datetime.date.today() - datetime.timedelta(days=2)).isoformat()
    user = {"path": "/ocs-bad", "shareType": 0, "shareWith": "carol", "permissions": 1}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("alice", {**user, "shareWith": "alice"}, 400),
        ("alice", {**user, "shareWith": "nobody"}, 404),
        ("alice", {**user, "shareType": 1, "shareWith": "no-group"}, 404),
        ("alice", {**user, "path": "/missing"}, 404),
        ("alice", {**user, "path": ""}, 404),
        ("alice", {**user, "permissions": 0}, 400),
        ("alice", {**user, "permissions": 32}, 400),
        ("alice", {**user, "permissions": "lots"}, 400),
        ("alice", {**user, "shareType": "x"}, 400),
        ("alice", {**user, "shareType": 6}, 400),
        ("alice", {**user, "expireDate": yesterday}, 400),
        ("alice", {**user, "expireDate": "31.12.2030"}, 400),
        ("alice", {**user, "shareWith": "bob"}, 403),  # already shared with bob
        ("alice", {**user, "path": "/ocs-bad/file.txt", "shareType": 3, "publicUpload": "true"}, 403),
        ("bob", {**user, "path": "/ocs-bad"}, 404),  # bob has not accepted: nothing at that path in his tree
    ]
    for who, form, code in cases:
        for v in (1, 2):
            status, body = ocs("POST", "shares", who=who, v=v, data=form)
            assert body["meta"]["statuscode"] == code and body["meta"]["message"], (form, body)
            assert status == (200 if v == 1 else code), (form, status)
    status, body = ocs("POST", "shares", headers={"Content-Type": "application/json"}, data=b"{not json")
    assert status == 400 and body["meta"]["message"]
    assert ocs("PUT", f"shares/{ok[1]['data']['id']}", data={})[0] == 400
    assert ocs("PUT", f"shares/{ok[1]['data']['id']}", data={"permissions": 1}, who="bob")[0] == 403
    assert ocs("DELETE", "shares/999999")[0] == 404
    assert ocs("POST", "shares/pending/999999", who="bob")[0] == 404
    assert len(ocs("GET", "shares?reshares=true")[1]["data"]) == before


def test_a_reshare_shows_the_resharer_their_own_view(ocs: Ocs) -> None:
    ocs.stack.mkdir("/ocs-private")
    folder = ocs.stack.mkdir("/ocs-private/shared")
    inner = ocs.stack.mkdir("/ocs-private/shared/inner")
    got = ocs.stack.share("alice", folder.id, 0, "dave", perms=1 | 16)
    ocs.stack.answer("dave", got.id, 1, "from alice")
    reshare = ocs.stack.share("dave", inner.id, 0, "carol", perms=1)
    status, body = ocs("GET", "shares", who="dave")
    (mine,) = [s for s in body["data"] if s["id"] == reshare.id]
    assert (
        mine["path"] == "/Shares/from alice/inner" and mine["uid_owner"] == "dave" and mine["uid_file_owner"] == "alice"
    )
    assert "ocs-private" not in json.dumps(body)  # the owner's own folders stay hers


def test_sharees_find_users_and_groups(ocs: Ocs) -> None:
    status, body = ocs("GET", "sharees?search=bob&itemType=folder")
    assert status == 200 and [u["value"] for u in body["data"]["exact"]["users"]] == [
        {"shareType": 0, "shareWith": "bob"}
    ]
    status, root = ocs("GET", "sharees?search=team&itemType=file", v=1, fmt="xml")
    assert status == 200 and root.findtext("data/exact/groups/element/value/shareWith") == "team"
    found = ocs("GET", "sharees?search=a", who="alice")[1]["data"]  # alice, carol, dave, admin ...
    names = {u["value"]["shareWith"] for u in found["users"] + found["exact"]["users"]}
    assert {"carol", "dave"} <= names and "alice" not in names  # never offered to herself


def test_capabilities_advertise_sharing(ocs: Ocs) -> None:
    url = f"{ocs.root}/ocs/v1.php/cloud/capabilities?format=json"

    def caps() -> dict[str, Any]:
        reply = requests.get(url, auth=("alice", PASSWORD), verify=False, timeout=30)
        return dict(reply.json()["ocs"]["data"]["capabilities"]["files_sharing"])

    sharing = wait_until(lambda: (c := caps())["api_enabled"] and c, 30, what="sharing advertised")
    assert sharing["public"]["enabled"] and sharing["public"]["password"]["enforced"] is False
    assert (
        sharing["resharing"]
        and sharing["group_sharing"]
        and sharing["federation"] == {"outgoing": False, "incoming": False}
    )
    assert sharing["default_permissions"] == 31 and sharing["user_enumeration"]["enabled"]


def test_pyocclient_shares(ocs: Ocs) -> None:
    ocs.stack.mkdir("/py")
    ocs.stack.upload("/py/notes.txt", b"pyocclient")
    client = owncloud.Client(ocs.root + "/", verify_certs=False)
    client.login("alice", PASSWORD)
    with_user = client.share_file_with_user("/py", "bob", perms=client.OCS_PERMISSION_READ)
    with_group = client.share_file_with_group("/py/notes.txt", "team", perms=client.OCS_PERMISSION_READ)
    link = client.share_file_with_link("/py", password="pyocclient-pw")
    assert link.get_token() and link.get_link().endswith("/s/" + link.get_token())
    shares = client.get_shares("/py")
    assert {s.get_id() for s in shares} == {with_user.get_id(), link.get_id()}
    assert {s.get_share_with() for s in shares if s.get_share_type() == 0} == {"bob"}
    assert client.update_share(with_user.get_id(), perms=EDITOR) is True
    assert client.get_share(with_user.get_id()).get_permissions() == EDITOR
    assert client.delete_share(with_group.get_id())
    assert client.delete_share(with_user.get_id())
    assert [s.get_id() for s in client.get_shares("/py")] == [link.get_id()]
