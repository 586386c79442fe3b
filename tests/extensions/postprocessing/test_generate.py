"""`ocis supervisor|systemd generate` with optional extensions, and the CLI's refusals.

A generated deployment must resolve POSTPROCESSING_STEPS=auto alike in every process:
storage-users holds a revision exactly when postprocessing will run a step for it.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from ocisd.api.postprocessing.v1.contract import configured_steps
from tests.support.harness import Deployment

PROGRAM = "program:ocis-"


def supervised_envs(dep: Deployment, *args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each generated program's environment, by extension."""
    directory = dep.root / "sup"
    res = dep.ocis("supervisor", "generate", "--dir", str(directory), *args, env=env)
    assert res.returncode == 0, res.stderr
    parser = configparser.RawConfigParser()
    parser.read(directory / "supervisord.conf")
    return {
        section.removeprefix(PROGRAM): dict_of_key_value_pairs(parser.get(section, "environment").replace("%%", "%"))
        for section in parser.sections()
        if section.startswith(PROGRAM)
    }


def steps_everywhere(envs: dict[str, dict[str, str]]) -> set[tuple[str, ...]]:
    """The step lists the programs resolve, each in its generated environment alone."""
    return {tuple(configured_steps(env)) for env in envs.values()}


def test_supervisor_generate_adds_optional_extensions_only_when_asked(dep: Deployment) -> None:
    default = supervised_envs(dep)
    assert "antivirus" not in default and {"postprocessing", "storage-users"} <= set(default)
    assert steps_everywhere(default) == {()}
    for asked in (["--extensions", "bus,storage-users,postprocessing,antivirus"], []):
        envs = supervised_envs(dep, *asked, env={"OCIS_ADD_RUN_SERVICES": "antivirus"} if not asked else None)
        assert "antivirus" in envs
        assert {e.get("OCIS_ADD_RUN_EXTENSIONS") for e in envs.values()} == {"antivirus"}
        assert steps_everywhere(envs) == {("virusscan",)}


def test_supervisor_generate_passes_the_steps_to_every_program(dep: Deployment) -> None:
    envs = supervised_envs(dep, env={"POSTPROCESSING_STEPS": "delay,virusscan"})
    assert {e.get("POSTPROCESSING_STEPS") for e in envs.values()} == {"delay,virusscan"}
    assert steps_everywhere(envs) == {("delay", "virusscan")}


def systemd_units(dep: Deployment, *args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    directory: Path = dep.root / "units"
    res = dep.ocis("systemd", "generate", "--user", "--dir", str(directory), *args, env=env)
    assert res.returncode == 0, res.stderr
    return (directory / "ocisd@.service").read_text(), (directory / "ocisd.target").read_text()


def test_systemd_generate_adds_optional_extensions_only_when_asked(dep: Deployment) -> None:
    service, target = systemd_units(dep)
    assert "ocisd@antivirus.service" not in target and "OCIS_ADD_RUN_EXTENSIONS" not in service
    service, target = systemd_units(dep, env={"OCIS_ADD_RUN_EXTENSIONS": "antivirus"})
    assert "ocisd@antivirus.service" in target and "ocisd@postprocessing.service" in target
    assert 'OCIS_ADD_RUN_EXTENSIONS="antivirus"' in service
    service, target = systemd_units(dep, "--extensions", "bus,antivirus")
    assert target.split("Wants=")[1].split()[:2] == ["ocisd@bus.service", "ocisd@antivirus.service"]
    assert 'OCIS_ADD_RUN_EXTENSIONS="antivirus"' in service


def test_cli_without_a_storage_instance_exits_1(dep: Deployment) -> None:
    for args in (["list", "--failed"], ["retry", "--all-failed"]):
        res = dep.ocis("postprocessing", *args, env={"OCIS_HEARTBEAT_INTERVAL": "0.2"})
        assert res.returncode == 1 and "no running instance of storage-users" in res.stderr, res.stderr
    both = dep.ocis("postprocessing", "retry", "3", "--all-failed")
    assert both.returncode == 2 and "not both" in both.stderr


def test_bad_settings_stop_the_start(dep: Deployment) -> None:
    for key, value in (
        ("POSTPROCESSING_STEPS", "virusscan,thumbnail"),
        ("POSTPROCESSING_STEPS", "delay,delay"),
        ("POSTPROCESSING_CONCURRENCY", "0"),
        ("POSTPROCESSING_LEASE_TIME", "0.5s"),
    ):
        res = dep.ocis("postprocessing", "server", env={key: value}, timeout=30)
        assert res.returncode == 2 and "postprocessing" in res.stderr, (key, res.stderr)
