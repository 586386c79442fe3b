from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import tools
from tests.support.harness import Deployment, deployment
from tests.support.postgres import Postgres, running_postgres
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tools(*names): the external programs a test drives (tests/support/tools.py)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture starts a deployment: a missing client fails the test at once.
    for mark in item.iter_markers("tools"):
        for tool in mark.args:
            tools.require(tool)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A skip hides a test that never ran: it fails the run unless missing tools are allowed.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and os.environ.get(tools.ALLOW) != "1" and session.exitstatus == 0:
        reporter.write_line(f"{skipped} skipped: a skip is a failure unless {tools.ALLOW}=1", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def dep() -> Iterator[Deployment]:
    """A deployment with `ocis init` done, free ports, and every process stopped at the end."""
    with deployment() as d:
        yield d


@pytest.fixture
def bare() -> Iterator[Deployment]:
    """Like `dep` but without `ocis init` (no config yet)."""
    with deployment(init=False) as d:
        yield d


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL 15 server for the run (started on first use); each test takes `new_database()`."""
    with running_postgres() as pg:
        yield pg


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedFS]:
    """One SeaweedFS (S3 on a free loopback port) for the run, started on first use; tests take a bucket each."""
    with running_seaweedfs() as server:
        yield server
