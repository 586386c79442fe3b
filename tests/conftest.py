from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.harness import Deployment, deployment


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
