"""graph's /me, users and groups through the proxy: CRUD and OData as the admin, refusals as a User."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest

from tests.extensions.graph.client import Graph
from tests.support.harness import Deployment, wait_until
from tests.support.identity import ADMIN_PASSWORD, add_user, identity_deployment, ocis_ok

RUN = "bus,users,groups,auth-basic,proxy,store,settings,graph"
USER_PW = "einstein-pw-1"
BOHR_PW = "bohr-pw-1"


def query(path: str, **options: str) -> str:
    return path + "?" + urllib.parse.urlencode({f"${k}": v for k, v in options.items()})


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Deployment, Graph]]:
    with identity_deployment() as dep:
        # wrong current passwords for changePassword: locked after 3, with no delays before
        throttle = {"AUTH_BASIC_USER_IP_LOCKOUT": "3", "AUTH_BASIC_THROTTLE_FREE_ATTEMPTS": "3"}
        dep.start_runtime(RUN, env={"PROXY_ACCESS_LOG": "false", **throttle})
        add_user(dep, "einstein", USER_PW)
        add_user(dep, "bohr", BOHR_PW)
        add_user(dep, "heisenberg", "uncertain-pw-1")
        admin = Graph(dep.addr("proxy", "http_addr"), "admin", ADMIN_PASSWORD)
        wait_until(lambda: admin.call("GET", "v1.0/me")[0] == 200, 30, what="graph behind the proxy")
        yield dep, admin


@pytest.fixture
def graph(stack: tuple[Deployment, Graph]) -> Graph:
    return stack[1]


def test_me_expand_patch_and_change_password(graph: Graph) -> None:
    user = graph.as_user("einstein", USER_PW)
    me = user.ok("GET", "v1.0/me?$expand=memberOf")
    assert me["onPremisesSamAccountName"] == "einstein" and me["memberOf"] == []
    group = graph.ok("POST", "v1.0/groups", {"displayName": "relativity"}, status=201)
    graph.ok(
        "POST",
        f"v1.0/groups/{group['id']}/members/$ref",
        {"@odata.id": f"https://x/graph/v1.0/users/{me['id']}"},
        status=204,
    )
    assert [g["displayName"] for g in user.ok("GET", "v1.0/me?$expand=memberOf")["memberOf"]] == ["relativity"]

    assert user.ok("PATCH", "v1.0/me", {"displayName": "Albert Einstein"})["displayName"] == "Albert Einstein"
    assert user.call("PATCH", "v1.0/me", {"mail": "x@example.org"})[0] == 400
    assert user.call("PATCH", "v1.0/me", {"preferredLanguage": "klingon"})[0] == 400
    assert user.ok("PATCH", "v1.0/me", {"preferredLanguage": "de"})["preferredLanguage"] == "de"
    assert user.ok("GET", "v1.0/me?$select=preferredLanguage") == {"id": me["id"], "preferredLanguage": "de"}

    status, body = user.call("POST", "v1.0/me/changePassword", {"currentPassword": "wrong", "newPassword": "n-1"})
    assert status == 400 and body["error"]["code"] == "invalidRequest"
    user.ok("POST", "v1.0/me/changePassword", {"currentPassword": USER_PW, "newPassword": "new-pw-2"}, status=204)
    wait_until(lambda: user.call("GET", "v1.0/me")[0] == 401, what="the old password refused")
    changed = graph.as_user("einstein", "new-pw-2")
    changed.ok("POST", "v1.0/me/changePassword", {"currentPassword": "new-pw-2", "newPassword": USER_PW}, status=204)
    graph.ok("DELETE", f"v1.0/groups/{group['id']}", status=204)


def test_wrong_current_passwords_are_throttled_for_that_user_alone(graph: Graph) -> None:
    user = graph.as_user("heisenberg", "uncertain-pw-1")
    wrong = {"currentPassword": "guess", "newPassword": "n-1"}
    assert [user.call("POST", "v1.0/me/changePassword", wrong)[0] for _ in range(3)] == [400] * 3
    status, body = user.call("POST", "v1.0/me/changePassword", wrong)
    assert status == 429 and body["error"]["code"] == "tooManyRequests"
    assert user.ok("GET", "v1.0/me")["onPremisesSamAccountName"] == "heisenberg"  # logging in still works


def test_users_crud_and_odata_as_admin(graph: Graph) -> None:
    made = {}
    for name, mail in (("marie", "marie@example.org"), ("pierre", "pierre@example.org"), ("irene", "")):
        body = {
            "onPremisesSamAccountName": name,
            "displayName": name.title(),
            "mail": mail,
            "passwordProfile": {"password": f"{name}-pw-1"},
        }
        made[name] = graph.ok("POST", "v1.0/users", body, status=201)
    status, body = graph.call(
        "POST", "v1.0/users", {"onPremisesSamAccountName": "MARIE", "passwordProfile": {"password": "x-1"}}
    )
    assert status == 409 and body["error"]["code"] == "nameAlreadyExists"

    assert graph.ok("GET", f"v1.0/users/{made['marie']['id']}")["mail"] == "marie@example.org"
    assert graph.ok("GET", "v1.0/users/pierre")["id"] == made["pierre"]["id"]  # by username too
    found = graph.ok("GET", query("v1.0/users", search='"mar"'))["value"]
    assert [u["onPremisesSamAccountName"] for u in found] == ["marie"]
    found = graph.ok("GET", query("v1.0/users", filter="mail eq 'pierre@example.org'"))["value"]
    assert [u["id"] for u in found] == [made["pierre"]["id"]]
    page = graph.ok("GET", query("v1.0/users", orderby="displayName desc", top="2", count="true", select="displayName"))
    assert page["@odata.count"] == 7 and [u["displayName"] for u in page["value"]] == ["Pierre", "Marie"]
    assert set(page["value"][0]) == {"id", "displayName"}

    group = graph.ok("POST", "v1.0/groups", {"displayName": "radium"}, status=201)
    graph.ok(
        "PATCH",
        f"v1.0/groups/{group['id']}",
        {"members@odata.bind": [f"https://x/graph/v1.0/users/{made['marie']['id']}"]},
        status=204,
    )
    graph.ok("POST", "v1.0/groups/radium/members/$ref", {"@odata.id": "https://x/graph/v1.0/users/pierre"}, status=204)
    members = graph.ok("GET", query("v1.0/users", filter=f"memberOf/any(m:m/id eq '{group['id']}')"))["value"]
    assert sorted(u["onPremisesSamAccountName"] for u in members) == ["marie", "pierre"]
    expanded = graph.ok("GET", query(f"v1.0/groups/{group['id']}", expand="members"))
    assert sorted(u["displayName"] for u in expanded["members"]) == ["Marie", "Pierre"]
    graph.ok("DELETE", f"v1.0/groups/{group['id']}/members/{made['pierre']['id']}/$ref", status=204)
    assert [u["displayName"] for u in graph.ok("GET", "v1.0/groups/radium/members")["value"]] == ["Marie"]
    groups = graph.ok("GET", query("v1.0/groups", search="rad", count="true"))
    assert groups["@odata.count"] == 1 and groups["value"][0]["id"] == group["id"]
    assert graph.call("POST", "v1.0/groups", {"displayName": "Radium"})[0] == 409

    patched = graph.ok(
        "PATCH", "v1.0/users/irene", {"displayName": "Irène", "mail": "irene@example.org", "accountEnabled": False}
    )
    assert patched["displayName"] == "Irène" and patched["accountEnabled"] is False
    disabled = graph.ok("GET", query("v1.0/users", filter="accountEnabled eq false"))["value"]
    assert [u["onPremisesSamAccountName"] for u in disabled] == ["irene"]
    assert graph.call("PATCH", "v1.0/users/irene", {"mail": "not-an-address"})[0] == 400
    graph.ok("DELETE", "v1.0/users/irene", status=204)
    assert graph.call("GET", "v1.0/users/irene")[1]["error"]["code"] == "itemNotFound"
    graph.ok("DELETE", f"v1.0/groups/{group['id']}", status=204)
    assert graph.call("GET", f"v1.0/groups/{group['id']}")[0] == 404
    for name in ("marie", "pierre"):
        graph.ok("DELETE", f"v1.0/users/{name}", status=204)


def test_a_user_reads_and_searches_but_changes_nothing(graph: Graph) -> None:
    user = graph.as_user("einstein", USER_PW)
    me = user.ok("GET", "v1.0/me")
    assert user.ok("GET", f"v1.0/users/{me['id']}")["id"] == me["id"]
    found = user.ok("GET", query("v1.0/users", search='"adm"'))["value"]
    assert [u["onPremisesSamAccountName"] for u in found] == ["admin"] and "accountEnabled" not in found[0]
    admin_id = found[0]["id"]
    group = graph.ok("POST", "v1.0/groups", {"displayName": "staff"}, status=201)
    assert user.ok("GET", query("v1.0/groups", search="sta"))["value"][0]["id"] == group["id"]
    refused = [
        user.call("GET", "v1.0/users"),
        user.call("GET", f"v1.0/users/{admin_id}"),
        user.call(
            "POST", "v1.0/users", {"onPremisesSamAccountName": "mallory", "passwordProfile": {"password": "m-1"}}
        ),
        user.call("PATCH", f"v1.0/users/{admin_id}", {"displayName": "pwned"}),
        user.call("DELETE", f"v1.0/users/{admin_id}"),
        user.call("POST", "v1.0/groups", {"displayName": "mine"}),
        user.call(
            "POST", f"v1.0/groups/{group['id']}/members/$ref", {"@odata.id": f"https://x/graph/v1.0/users/{me['id']}"}
        ),
        user.call("DELETE", f"v1.0/groups/{group['id']}"),
    ]
    assert [(s, b["error"]["code"]) for s, b in refused] == [(403, "accessDenied")] * len(refused)
    assert graph.ok("GET", "v1.0/users/admin")["displayName"] != "pwned"
    assert graph.call("GET", query("v1.0/users", search="mallory"))[1]["value"] == []
    graph.ok("DELETE", f"v1.0/groups/{group['id']}", status=204)


def test_a_role_assigned_in_settings_is_what_graph_checks(stack: tuple[Deployment, Graph]) -> None:
    dep, admin = stack
    bohr = admin.as_user("bohr", BOHR_PW)
    assert bohr.call("GET", "v1.0/users")[0] == 403
    ocis_ok(dep, "users", "set-role", "bohr", "admin")
    assert "einstein" in {u["onPremisesSamAccountName"] for u in bohr.ok("GET", "v1.0/users")["value"]}
    group = bohr.ok("POST", "v1.0/groups", {"displayName": "copenhagen"}, status=201)
    bohr.ok("DELETE", f"v1.0/groups/{group['id']}", status=204)
    ocis_ok(dep, "users", "set-role", "bohr", "user")
    assert bohr.call("GET", "v1.0/users")[0] == 403


@pytest.mark.parametrize(
    "path",
    [
        query("v1.0/users", filter="startswith(displayName,'a')"),
        query("v1.0/users", filter="shoeSize eq '42'"),
        query("v1.0/users", filter="displayName eq 'unterminated"),
        query("v1.0/users", orderby="shoeSize"),
        query("v1.0/users", top="-1"),
        query("v1.0/users", count="maybe"),
        query("v1.0/users", select="password"),
        query("v1.0/users", expand="drives"),
        query("v1.0/users", skiptoken="x"),
        query("v1.0/groups", filter="displayName ne 'x'"),
    ],
)
def test_bad_odata_is_a_400(graph: Graph, path: str) -> None:
    status, body = graph.call("GET", path)
    assert status == 400 and body["error"]["code"] == "invalidRequest", (path, status, body)


def test_bad_bodies_are_400_and_unknown_paths_404(graph: Graph) -> None:
    for body in (b"{not json", b"[1, 2]", {"onPremisesSamAccountName": 7}, {"onPremisesSamAccountName": ""}):
        status, answer = graph.call("POST", "v1.0/users", body)
        assert status == 400 and answer["error"]["code"] == "invalidRequest", (body, answer)
    assert graph.call("POST", "v1.0/groups", {"displayName": ["x"]})[0] == 400
    assert graph.call("POST", "v1.0/me/changePassword", {"currentPassword": ADMIN_PASSWORD})[0] == 400
    status, answer = graph.call("GET", "v1.0/nothing-here")
    assert status == 404 and answer["error"]["code"] == "itemNotFound"
