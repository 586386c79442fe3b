"""graph under supervisord: without settings nothing is granted (503, never a 500), and a SIGKILLed
graph is back through the proxy once supervisord has restarted it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psutil
import pytest

from ocisd.supervisor.config import GROUP, program_name
from ocisd.supervisor.control import Supervisor
from tests.extensions.graph.client import Graph
from tests.support.harness import Deployment, wait_until
from tests.support.identity import ADMIN_PASSWORD, identity_deployment, under_supervisord

RUN = "bus,users,groups,auth-basic,proxy,store,settings,graph"


@pytest.fixture
def supervised() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        dep.env["OCIS_GRPC_NO_INSTANCE_WAIT"] = "500ms"  # settings' absence shows at once
        dep.env["PROXY_ACCESS_LOG"] = "false"
        with under_supervisord(dep, RUN):
            yield dep


def test_settings_down_is_503_and_a_killed_graph_comes_back(supervised: Deployment) -> None:
    dep = supervised
    admin = Graph(dep.addr("proxy", "http_addr"), "admin", ADMIN_PASSWORD)
    wait_until(lambda: admin.call("GET", "v1.0/users")[0] == 200, 30, what="graph behind the proxy")
    sup = Supervisor(dep.root / "sup", env=dep.env)

    settings = psutil.Process(sup.pid_of(program_name("settings")))
    sup.stop_program("settings")
    settings.wait(15)
    status, body = admin.call("GET", "v1.0/users")
    assert status == 503 and body["error"]["code"] == "serviceNotAvailable", body
    assert admin.ok("GET", "v1.0/me")["onPremisesSamAccountName"] == "admin"  # needs no permission
    sup.call("supervisor.startProcess", f"{GROUP}:{program_name('settings')}", False)
    wait_until(lambda: admin.call("GET", "v1.0/users")[0] == 200, 30, what="permissions once settings is back")

    graph = psutil.Process(sup.pid_of(program_name("graph")))
    os.kill(graph.pid, signal.SIGKILL)
    graph.wait(10)
    wait_until(lambda: sup.pid_of(program_name("graph")) not in (0, graph.pid), 30, what="graph restarted")
    wait_until(lambda: admin.call("GET", "v1.0/me")[0] == 200, 30, what="graph answering again")
