"""idp as its own supervised process (real supervisord): sign-ins survive its SIGKILL and restart."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest
import requests
from joserfc import jws as jwt

from ocisd.supervisor.config import program_name
from tests.extensions.idp.oidc import Stack, sign_in
from tests.support.harness import wait_until
from tests.support.identity import ADMIN_PASSWORD, identity_deployment, ocis_ok, under_supervisord

EXTENSIONS = "bus,users,groups,auth-basic,auth-bearer,idp,proxy"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture
def supervised() -> Iterator[Stack]:
    with identity_deployment() as dep:
        dep.env["OCIS_URL"] = f"https://{dep.addr('proxy', 'http_addr')}"
        dep.env["IDP_SIGNING_ALG"] = "PS256"  # the other algorithm idp offers
        with under_supervisord(dep, EXTENSIONS):
            stack = Stack(dep, dep.env["OCIS_URL"])
            wait_until(lambda: stack.get("/.well-known/openid-configuration").status_code == 200, what="routed")
            yield stack


def _idp_pid(stack: Stack) -> int:
    status = json.loads(ocis_ok(stack.dep, "supervisor", "status", "--json", "--dir", str(stack.dep.root / "sup")))
    return int(next(row["pid"] for row in status if row["name"] == program_name("idp")))


def test_sign_ins_survive_a_killed_idp(supervised: Stack) -> None:
    stack = supervised
    client, token = sign_in(stack, "admin", ADMIN_PASSWORD)
    assert jwt.extract_compact(token["access_token"].encode()).headers()["alg"] == "PS256"
    keys = stack.get("/konnect/v1/jwks.json").json()
    pid = _idp_pid(stack)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _idp_pid(stack) not in (0, pid), what="idp restarted by supervisord")
    stack.dep.wait_ready("idp")
    wait_until(lambda: stack.get("/konnect/v1/jwks.json").status_code == 200, what="idp routed again")
    assert stack.get("/konnect/v1/jwks.json").json() == keys  # the same keys: tokens stay valid
    assert client.get(stack.url + "/konnect/v1/userinfo").json()["preferred_username"] == "admin"
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "web"}
    renewed = requests.post(stack.url + "/konnect/v1/token", data=form, verify=False, timeout=30)
    assert renewed.status_code == 200, renewed.text  # codes and refresh tokens are durable
    # auth-bearer, a process of its own, found idp's keys through the registry: the proxy checks credentials
    # sent to public routes too, and lets the token in while it refuses a tampered one.
    access = renewed.json()["access_token"]
    for sent, status in ((access, 200), (access[:-4] + "AAAA", 401)):
        headers = {"Authorization": f"Bearer {sent}"}
        assert stack.get("/.well-known/openid-configuration", headers=headers).status_code == status
