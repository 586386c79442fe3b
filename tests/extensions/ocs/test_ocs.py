"""ocs: the provisioning API admins script against, backed by the real users and groups extensions."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ocisd import identity
from tests.support.harness import Deployment
from tests.support.identity import config_value, identity_deployment, token_for

RUN = "bus,users,groups,ocs"
# No storage runs here: a user's quota (asked of the gateway) is "default" after this wait, not 5 s.
NO_STORAGE = {"OCIS_GRPC_NO_INSTANCE_WAIT": "100ms"}


def ocs(dep: Deployment, method: str, path: str, token: str, form: dict[str, Any] | None = None) -> tuple[int, Any]:
    url = dep.url("ocs", path=path) + ("&" if "?" in path else "?") + "format=json"
    data = urllib.parse.urlencode(form or {}, doseq=True).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={identity.HTTP_HEADER: token})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())["ocs"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["ocs"]


def admin_token(dep: Deployment) -> str:
    who = identity.Identity(user_id=config_value(dep, "admin_user_id"), username="admin")
    return token_for(dep, who)


def test_provisioning_round_trip_v1_and_v2() -> None:
    with identity_deployment() as dep:
        dep.start_runtime(RUN, env=NO_STORAGE)
        adm = admin_token(dep)
        form = {"userid": "marie", "password": "radium-88", "email": "m@example.org", "displayname": "Marie"}
        status, body = ocs(dep, "POST", "/ocs/v1.php/cloud/users", adm, form)
        assert status == 200 and body["meta"]["statuscode"] == 100, body
        status, body = ocs(dep, "POST", "/ocs/v2.php/cloud/users", adm, form)
        assert status == 400 and body["meta"]["statuscode"] == 400 and body["meta"]["status"] == "failure"
        assert "marie" in ocs(dep, "GET", "/ocs/v2.php/cloud/users", adm)[1]["data"]["users"]
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users?search=mar", adm)[1]["data"]["users"] == ["marie"]

        data = ocs(dep, "GET", "/ocs/v1.php/cloud/users/marie", adm)[1]["data"]
        assert data["email"] == "m@example.org" and data["displayname"] == "Marie" and data["enabled"] is True
        ocs(dep, "PUT", "/ocs/v1.php/cloud/users/marie", adm, {"key": "email", "value": "curie@example.org"})
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/marie", adm)[1]["data"]["email"] == "curie@example.org"
        ocs(dep, "PUT", "/ocs/v1.php/cloud/users/marie/disable", adm, {})
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/marie", adm)[1]["data"]["enabled"] is False
        ocs(dep, "PUT", "/ocs/v1.php/cloud/users/marie/enable", adm, {})

        assert ocs(dep, "POST", "/ocs/v1.php/cloud/groups", adm, {"groupid": "physics"})[1]["meta"]["statuscode"] == 100
        ocs(dep, "POST", "/ocs/v1.php/cloud/users/marie/groups", adm, {"groupid": "physics"})
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/marie/groups", adm)[1]["data"]["groups"] == ["physics"]
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/groups/physics", adm)[1]["data"]["users"] == ["marie"]
        assert "physics" in ocs(dep, "GET", "/ocs/v1.php/cloud/groups", adm)[1]["data"]["groups"]
        ocs(dep, "DELETE", "/ocs/v1.php/cloud/users/marie/groups?groupid=physics", adm)
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/groups/physics", adm)[1]["data"]["users"] == []
        ocs(dep, "DELETE", "/ocs/v1.php/cloud/groups/physics", adm)

        assert ocs(dep, "DELETE", "/ocs/v1.php/cloud/users/marie", adm)[1]["meta"]["statuscode"] == 100
        status, body = ocs(dep, "GET", "/ocs/v2.php/cloud/users/marie", adm)
        assert status == 404 and body["meta"]["statuscode"] == 404
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/marie", adm)[1]["meta"]["statuscode"] == 998


def test_non_admin_is_refused_but_gets_its_signing_key() -> None:
    with identity_deployment() as dep:
        dep.start_runtime(RUN, env=NO_STORAGE)
        user = token_for(dep, identity.Identity(user_id="u-77", username="einstein"))
        status, body = ocs(dep, "GET", "/ocs/v1.php/cloud/users", user)
        assert status == 401 and body["meta"]["statuscode"] == 997
        status, body = ocs(dep, "GET", "/ocs/v2.php/cloud/user/signing-key", user)
        assert status == 200 and body["data"]["user"] == "einstein" and len(body["data"]["signing-key"]) == 64
        again = ocs(dep, "GET", "/ocs/v1.php/cloud/user/signing-key", user)[1]["data"]["signing-key"]
        assert again == body["data"]["signing-key"]
        other = token_for(dep, identity.Identity(user_id="u-78", username="bohr"))
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/user/signing-key", other)[1]["data"]["signing-key"] != again


def test_invalid_email_is_refused_on_create_and_edit_and_nothing_is_stored() -> None:
    with identity_deployment() as dep:
        dep.start_runtime(RUN, env=NO_STORAGE)
        adm = admin_token(dep)
        bad = ["not-an-email", "a@b", "two words@example.org", "a@@example.org", "a@example..org"]
        for version, status, code in (("v1", 200, 102), ("v2", 400, 400)):
            for address in bad:
                form = {"userid": f"lise-{version}", "password": "fission-38", "email": address}
                reply = ocs(dep, "POST", f"/ocs/{version}.php/cloud/users", adm, form)
                assert (reply[0], reply[1]["meta"]["statuscode"]) == (status, code), (address, reply)
        assert not {"lise-v1", "lise-v2"} & set(ocs(dep, "GET", "/ocs/v1.php/cloud/users", adm)[1]["data"]["users"])

        form = {"userid": "lise", "password": "fission-38", "email": "lise@example.org"}
        assert ocs(dep, "POST", "/ocs/v1.php/cloud/users", adm, form)[1]["meta"]["statuscode"] == 100
        for version, status, code in (("v1", 200, 102), ("v2", 400, 400)):
            for address in bad:
                edit = {"key": "email", "value": address}
                reply = ocs(dep, "PUT", f"/ocs/{version}.php/cloud/users/lise", adm, edit)
                assert (reply[0], reply[1]["meta"]["statuscode"]) == (status, code), (address, reply)
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/lise", adm)[1]["data"]["email"] == "lise@example.org"
        # An empty address clears it, as before.
        assert ocs(dep, "PUT", "/ocs/v2.php/cloud/users/lise", adm, {"key": "email", "value": ""})[0] == 200
        assert ocs(dep, "GET", "/ocs/v1.php/cloud/users/lise", adm)[1]["data"]["email"] == ""
        # The users extension itself holds the same rule, for every other client of the identity API.
        res = dep.ocis("users", "add", "otto", "--password-stdin", "--email", "a@b", input="hahn-1879\n")
        assert res.returncode != 0 and "not a valid e-mail address" in res.stderr, res.stderr
