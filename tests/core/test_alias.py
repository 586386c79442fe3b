"""`storage-authmachine`, oCIS's older name of auth-machine, works wherever an extension is named."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc
from ocisd.cli.main import build_parser
from ocisd.config.schema import ConfigError
from ocisd.discovery import selection
from ocisd.supervisor.config import parse_instances
from tests.support.harness import Deployment, deployment, free_port
from tests.support.identity import config_value, service_call

OLD, NEW = "storage-authmachine", "auth-machine"


def test_run_add_and_exclude_lists_take_the_old_name() -> None:
    assert selection({"OCIS_RUN_EXTENSIONS": f"bus,{OLD}"}) == ["bus", NEW]
    assert selection({"OCIS_RUN_SERVICES": "bus", "OCIS_ADD_RUN_SERVICES": OLD}) == ["bus", NEW]
    assert NEW not in selection({"OCIS_EXCLUDE_RUN_EXTENSIONS": OLD})
    with pytest.raises(ConfigError, match="named twice"):  # both names are one extension
        selection({"OCIS_RUN_EXTENSIONS": f"bus,{OLD},{NEW}"})


def test_cli_and_instances_resolve_the_old_name() -> None:
    args = build_parser().parse_args([OLD, "config", "--json"])
    assert args.extension == NEW
    assert parse_instances(f"{OLD}=2", ["bus", NEW]) == {NEW: 2}


@pytest.fixture(scope="module")
def rt() -> Iterator[Deployment]:
    """A runtime whose OCIS_RUN_EXTENSIONS names auth-machine by its old name."""
    with deployment() as dep:
        proc = dep.start_runtime(f"bus,users,groups,{OLD}", wait=False)
        dep.wait_runtime(proc, ["bus", "users", "groups", NEW])
        yield dep


def test_runtime_runs_it_under_its_current_name(rt: Deployment) -> None:
    assert [r["name"] for r in rt.runtime_list()] == ["bus", "users", "groups", NEW]
    machine = auth_pb2.MachineRequest(api_key=config_value(rt, "machine_auth_api_key"), username="admin")
    assert service_call(rt, NEW, auth_pb2_grpc.AuthMachineStub, "Authenticate", machine).user.username == "admin"
    health = rt.ocis(OLD, "health")
    assert health.returncode == 0 and "/readyz: 200" in health.stdout, health.stdout + health.stderr


def test_own_process_by_the_old_name_answers_health(rt: Deployment) -> None:
    grpc_addr = f"127.0.0.1:{free_port()}"
    env = {"AUTH_MACHINE_GRPC_ADDR": grpc_addr, "AUTH_MACHINE_DEBUG_ADDR": f"127.0.0.1:{free_port()}"}
    proc = rt.spawn(OLD, OLD, "server", env=env)
    rt.wait_ready(NEW, proc, env)
    health = rt.ocis(OLD, "health", env=env)
    assert health.returncode == 0 and "/healthz: 200" in health.stdout, health.stdout + health.stderr
    with grpc.insecure_channel(grpc_addr) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert proc.stop() == 0


def test_supervisor_and_systemd_generate_take_the_old_name(rt: Deployment) -> None:
    sup = rt.root / "sup"
    res = rt.ocis("supervisor", "generate", "--dir", str(sup), "--extensions", f"bus,{OLD}", "--instances", f"{OLD}=2")
    assert res.returncode == 0, res.stderr
    conf = (sup / "supervisord.conf").read_text()
    assert "[program:ocis-auth-machine]" in conf and "[program:ocis-auth-machine-2]" in conf
    assert OLD not in conf
    units = rt.root / "units"
    res = rt.ocis("systemd", "generate", "--dir", str(units), "--extensions", f"bus,{OLD}")
    assert res.returncode == 0, res.stderr
    assert f"ocisd@{NEW}.service" in (units / "ocisd.target").read_text()
