"""store and settings each under supervisord: a SIGKILLed store is a clear UNAVAILABLE, then settings recovers."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import grpc
import psutil
import pytest

from ocisd.api.settings.v1 import contract
from ocisd.api.settings.v1 import settings_pb2 as pb
from ocisd.api.settings.v1 import settings_pb2_grpc as pb_grpc
from ocisd.supervisor.config import GROUP, program_name
from ocisd.supervisor.control import Supervisor
from tests.support.harness import Deployment, wait_until
from tests.support.identity import identity_deployment, service_call, under_supervisord

RUN = "bus,store,settings"


@pytest.fixture
def supervised() -> Iterator[Deployment]:
    with identity_deployment() as dep:
        dep.env["OCIS_GRPC_NO_INSTANCE_WAIT"] = "500ms"  # the outage shows at once instead of after 5 s
        with under_supervisord(dep, RUN):
            yield dep


def check(dep: Deployment, account: str) -> pb.CheckPermissionResponse:
    request = pb.CheckPermissionRequest(account_id=account, permission=contract.DRIVES_CREATE.name)
    return service_call(dep, "settings", pb_grpc.SettingsStub, "CheckPermission", request)


def test_store_sigkill_is_unavailable_then_recovers(supervised: Deployment) -> None:
    dep = supervised
    assign = pb.AssignRoleRequest(account_id="acct-kept", role_id=contract.SPACE_ADMIN)
    service_call(dep, "settings", pb_grpc.SettingsStub, "AssignRole", assign)
    sup = Supervisor(dep.root / "sup", env=dep.env)
    store = psutil.Process(sup.pid_of(program_name("store")))
    os.kill(store.pid, signal.SIGKILL)
    sup.stop_program("store")  # left down, so the outage is observed rather than raced
    store.wait(10)

    with pytest.raises(grpc.RpcError) as err:
        check(dep, "acct-new")  # not cached: settings must ask the store
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "store" in (err.value.details() or "")

    sup.call("supervisor.startProcess", f"{GROUP}:{program_name('store')}", False)
    dep.wait_ready("store")
    wait_until(lambda: not check(dep, "acct-new").granted, what="settings answering again")
    assert check(dep, "acct-kept").granted  # the assignment outlived the SIGKILL
