"""graph's drives: personal and project spaces, their life cycle, and members whose roles WebDAV enforces."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ocisd.api.storage.v1.contract import SHARES_SPACE_ID
from tests.extensions.graph.client import Graph
from tests.support.harness import Deployment, wait_until
from tests.support.identity import ADMIN_PASSWORD, add_user, basic, identity_deployment, ocis_ok
from tests.support.proxy import request

RUN = "bus,users,groups,auth-basic,proxy,store,settings,graph,gateway,storage-users,ocdav,sharing,storage-shares"
SPACES = "/remote.php/dav/spaces/"


@dataclass
class People:
    dep: Deployment
    admin: Graph
    einstein: Graph
    marie: Graph
    ids: dict[str, str]


def dav(who: Graph, method: str, path: str, body: bytes | None = None) -> int:
    return request(who.addr, method, SPACES + path, body, {"Authorization": basic(who.username, who.password)})[0]


def filtered(path: str, **options: str) -> str:
    return path + "?" + urllib.parse.urlencode({f"${k}": v for k, v in options.items()})


@pytest.fixture(scope="module")
def people() -> Iterator[People]:
    with identity_deployment() as dep:
        dep.start_runtime(RUN, env={"PROXY_ACCESS_LOG": "false"})
        ids = {name: add_user(dep, name, f"{name}-pw-1") for name in ("einstein", "marie")}
        admin = Graph(dep.addr("proxy", "http_addr"), "admin", ADMIN_PASSWORD)
        wait_until(lambda: admin.call("GET", "v1.0/me/drives")[0] == 200, 30, what="graph's drives behind the proxy")
        yield People(dep, admin, admin.as_user("einstein", "einstein-pw-1"), admin.as_user("marie", "marie-pw-1"), ids)


def project(people: People, name: str, **extra: object) -> dict:
    return people.admin.ok("POST", "v1.0/drives", {"name": name, **extra}, status=201)


def test_my_drives_show_the_personal_space(people: People) -> None:
    drives = people.einstein.ok("GET", "v1.0/me/drives")["value"]
    assert [d["driveType"] for d in drives] == ["personal", "virtual"]
    shares = drives[1]
    assert shares["id"] == SHARES_SPACE_ID and shares["root"]["webDavUrl"].endswith(SPACES + SHARES_SPACE_ID)
    assert people.einstein.ok("GET", f"v1.0/drives/{SHARES_SPACE_ID}")["driveType"] == "virtual"
    drive = drives[0]
    assert drive["owner"]["user"]["id"] == people.ids["einstein"] and drive["driveAlias"] == "personal/einstein"
    assert set(drive["quota"]) == {"total", "used", "remaining", "state"} and drive["quota"]["state"] == "normal"
    root = drive["root"]
    assert root["id"] == f"{drive['id']}!{drive['id']}" and root["eTag"]
    assert root["webDavUrl"].endswith(SPACES + drive["id"]) and drive["lastModifiedDateTime"].endswith("Z")
    assert dav(people.einstein, "PUT", f"{drive['id']}/hello.txt", b"hi") == 201
    assert people.einstein.ok("GET", f"v1.0/drives/{drive['id']}")["quota"]["used"] == 2


def test_project_drive_life_cycle(people: People) -> None:
    apollo = project(people, "Apollo", description="to the moon", quota={"total": 1_000_000})
    assert apollo["driveType"] == "project" and apollo["description"] == "to the moon"
    assert apollo["quota"]["total"] == 1_000_000
    assert [p["roles"] for p in apollo["root"]["permissions"]] == [["manager"]]
    status, body = people.einstein.call("POST", "v1.0/drives", {"name": "Mine"})
    assert status == 403 and body["error"]["code"] == "accessDenied"

    gemini = project(people, "Gemini")
    listed = people.admin.ok("GET", filtered("v1.0/drives", filter="driveType eq 'project'", orderby="name"))["value"]
    assert [d["name"] for d in listed if d["id"] in (apollo["id"], gemini["id"])] == ["Apollo", "Gemini"]
    assert {d["driveType"] for d in listed} == {"project"}
    assert apollo["id"] not in {d["id"] for d in people.einstein.ok("GET", "v1.0/drives")["value"]}
    assert people.einstein.call("GET", f"v1.0/drives/{apollo['id']}")[0] == 404

    people.admin.ok(
        "POST",
        f"v1beta1/drives/{apollo['id']}/root/invite",
        {"recipients": [{"objectId": people.ids["einstein"]}], "roles": ["manager"]},
    )
    renamed = people.einstein.ok("PATCH", f"v1.0/drives/{apollo['id']}", {"name": "Apollo 11"})
    assert renamed["name"] == "Apollo 11"
    assert people.einstein.call("PATCH", f"v1.0/drives/{apollo['id']}", {"quota": {"total": 5}})[0] == 403
    assert people.admin.ok("PATCH", f"v1.0/drives/{apollo['id']}", {"quota": {"total": 5}})["quota"]["total"] == 5

    people.admin.ok("DELETE", f"v1.0/drives/{apollo['id']}", status=204)
    assert people.admin.ok("GET", f"v1.0/drives/{apollo['id']}")["root"]["deleted"] == {"state": "trashed"}
    restored = people.admin.ok("PATCH", f"v1.0/drives/{apollo['id']}", {}, headers={"Restore": "T"})
    assert "deleted" not in restored["root"]
    people.admin.ok("DELETE", f"v1.0/drives/{apollo['id']}", status=204)
    people.admin.ok("DELETE", f"v1.0/drives/{apollo['id']}", status=204, headers={"Purge": "T"})
    assert people.admin.call("GET", f"v1.0/drives/{apollo['id']}")[0] == 404
    people.admin.ok("DELETE", f"v1.0/drives/{gemini['id']}", status=204)
    people.admin.ok("DELETE", f"v1.0/drives/{gemini['id']}", status=204, headers={"Purge": "T"})


def test_a_space_admin_creates_and_lists_every_space(people: People) -> None:
    apollo = project(people, "Artemis")
    assert people.marie.call("POST", "v1.0/drives", {"name": "Curie's"})[0] == 403
    ocis_ok(people.dep, "users", "set-role", "marie", "spaceadmin")
    mine = people.marie.ok("POST", "v1.0/drives", {"name": "Curie's"}, status=201)
    every = {d["id"] for d in people.marie.ok("GET", "v1.0/drives")["value"]}
    assert {apollo["id"], mine["id"]} <= every  # Drives.List: spaces she is no member of too
    assert apollo["id"] not in {d["id"] for d in people.marie.ok("GET", "v1.0/me/drives")["value"]}
    ocis_ok(people.dep, "users", "set-role", "marie", "user")
    assert apollo["id"] not in {d["id"] for d in people.marie.ok("GET", "v1.0/drives")["value"]}
    for space in (apollo["id"], mine["id"]):
        people.admin.ok("DELETE", f"v1.0/drives/{space}", status=204)
        people.admin.ok("DELETE", f"v1.0/drives/{space}", status=204, headers={"Purge": "T"})


def test_members_roles_are_enforced_through_webdav(people: People) -> None:
    space = project(people, "Manhattan")["id"]
    assert dav(people.admin, "PUT", f"{space}/plan.txt", b"the plan") == 201
    invite = f"v1beta1/drives/{space}/root/invite"
    added = people.admin.ok("POST", invite, {"recipients": [{"objectId": people.ids["einstein"]}], "roles": ["viewer"]})
    assert [(p["roles"], p["grantedToV2"]["user"]["displayName"]) for p in added["value"]] == [(["viewer"], "einstein")]
    people.admin.ok(
        "POST",
        invite,
        {"recipients": [{"objectId": "marie", "@libre.graph.recipient.type": "user"}], "roles": ["editor"]},
    )
    perms = people.admin.ok("GET", f"v1beta1/drives/{space}/root/permissions")["value"]
    roles = {p["grantedToV2"]["user"]["id"]: p["roles"] for p in perms}
    assert roles[people.ids["einstein"]] == ["viewer"] and roles[people.ids["marie"]] == ["editor"]
    for who in (people.einstein, people.marie):  # a viewer and an editor see every member's role
        drive = next(d for d in who.ok("GET", "v1.0/me/drives")["value"] if d["id"] == space)
        assert sorted(p["roles"][0] for p in drive["root"]["permissions"]) == ["editor", "manager", "viewer"]
        listed = who.ok("GET", f"v1beta1/drives/{space}/root/permissions")["value"]
        assert {p["grantedToV2"]["user"]["id"]: p["roles"] for p in listed} == roles

    assert dav(people.einstein, "GET", f"{space}/plan.txt") == 200
    assert dav(people.einstein, "PUT", f"{space}/vandal.txt", b"x") == 403
    assert dav(people.marie, "PUT", f"{space}/notes.txt", b"notes") == 201
    status, body = people.einstein.call("POST", invite, {"recipients": [{"objectId": "marie"}], "roles": ["manager"]})
    assert status == 403, body  # a viewer cannot share

    viewer = next(p["id"] for p in perms if p["grantedToV2"]["user"]["id"] == people.ids["einstein"])
    people.admin.ok("DELETE", f"v1beta1/drives/{space}/root/permissions/{viewer}", status=204)
    assert dav(people.einstein, "GET", f"{space}/plan.txt") in (403, 404)
    assert space not in {d["id"] for d in people.einstein.ok("GET", "v1.0/me/drives")["value"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "v1.0/drives", {"description": "no name"}),
        ("POST", "v1.0/drives", {"name": "q", "quota": {"total": -1}}),
        ("POST", "v1.0/drives", {"name": "q", "quota": "lots"}),
        ("POST", "v1.0/drives", {"name": "p", "driveType": "personal"}),
        ("GET", filtered("v1.0/me/drives", filter="driveType gt 'a'"), None),
        ("GET", filtered("v1.0/drives", orderby="size"), None),
    ],
)
def test_bad_drive_requests_are_400(people: People, method: str, path: str, body: object) -> None:
    status, answer = people.admin.call(method, path, body)
    assert status == 400 and answer["error"]["code"] == "invalidRequest", answer


def test_unknown_drives_members_and_roles(people: People) -> None:
    assert people.admin.call("GET", "v1.0/drives/0123456789abcdef")[0] == 404
    space = project(people, "Los Alamos")["id"]
    invite = f"v1beta1/drives/{space}/root/invite"
    assert people.admin.call("POST", invite, {"recipients": [{"objectId": "nobody"}], "roles": ["viewer"]})[0] == 404
    assert people.admin.call("POST", invite, {"recipients": [{"objectId": "marie"}], "roles": ["owner"]})[0] == 400
    assert people.admin.call("POST", invite, {"recipients": [], "roles": ["viewer"]})[0] == 400
    assert people.admin.call("DELETE", f"v1beta1/drives/{space}/root/permissions/bogus")[0] == 404
