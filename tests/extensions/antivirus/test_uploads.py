"""EICAR uploaded by PUT, chunking NG and TUS under each ANTIVIRUS_INFECTED_FILE_HANDLING, and
clean files becoming ready: `ocis server` with antivirus selected, a real clamd, through the proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clamd import EICAR, SIGNATURE, Clamd, running_clamd
from tests.support.harness import deployment, wait_until
from tests.support.webdav_stack import DavStack

from . import dav as stack

pytestmark = pytest.mark.tools("clamd")
INFECTED = f"infected {SIGNATURE}"


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    with running_clamd() as c:
        yield c


def server(clamd: Clamd, handling: str, **extra: str) -> Iterator[DavStack]:
    with deployment() as dep:
        yield stack.start(dep, clamd, ANTIVIRUS_INFECTED_FILE_HANDLING=handling, **extra)


@pytest.fixture(scope="module")
def delete(clamd: Clamd) -> Iterator[DavStack]:
    yield from server(clamd, "delete")


@pytest.fixture(scope="module")
def abort(clamd: Clamd) -> Iterator[DavStack]:
    yield from server(clamd, "abort", ANTIVIRUS_MAX_SCAN_SIZE="100KB")


@pytest.fixture(scope="module")
def keep(clamd: Clamd) -> Iterator[DavStack]:
    yield from server(clamd, "continue")


@pytest.mark.parametrize("how", stack.UPLOADS)
def test_delete_removes_an_infected_new_file(delete: DavStack, how: str) -> None:
    name = f"eicar-{how}.com"
    assert stack.upload(delete, how, name, EICAR) in (201, 204)
    wait_until(lambda: delete.request("GET", name).status == 404, stack.SETTLE, 0.2, what=f"{name} removed")
    assert delete.request("PROPFIND", name, b"", {"Depth": "0"}).status == 404


@pytest.mark.parametrize("how", stack.UPLOADS)
def test_delete_brings_the_previous_revision_back(delete: DavStack, how: str) -> None:
    name = f"doc-{how}.txt"
    assert stack.upload(delete, how, name, b"the good version\n") in (201, 204)
    assert stack.settled(delete, name)["oc:scan-status"] == "clean"
    assert stack.upload(delete, how, name, EICAR) in (201, 204)
    wait_until(lambda: delete.request("GET", name).body == b"the good version\n", stack.SETTLE, 0.2, what="rollback")
    assert stack.settled(delete, name)["oc:processing-status"] == "ready"


def infected(dav: DavStack, how: str) -> str:
    """Upload EICAR by `how`; once scanned it is kept and marked infected. Its name."""
    name = f"eicar-{how}.com"
    assert stack.upload(dav, how, name, EICAR) in (201, 204)
    props = stack.settled(dav, name)
    assert (props["oc:processing-status"], props["oc:scan-status"]) == ("infected", INFECTED)
    assert props["oc:scan-time"] and props["oc:scan-partial"] == "false"
    return name


@pytest.mark.parametrize("how", stack.UPLOADS)
def test_abort_keeps_an_infected_file_forbidden(abort: DavStack, how: str) -> None:
    name = infected(abort, how)
    assert abort.request("GET", name).status == 403
    assert abort.request("HEAD", name).status == 403


@pytest.mark.parametrize("how", stack.UPLOADS)
def test_continue_marks_an_infected_file_and_serves_it(keep: DavStack, how: str) -> None:
    got = keep.request("GET", infected(keep, how))
    assert (got.status, got.body) == (200, EICAR)


@pytest.mark.parametrize("how", stack.UPLOADS)
def test_a_clean_file_becomes_ready(keep: DavStack, how: str) -> None:
    name = f"clean-{how}.txt"
    body = b"a perfectly ordinary file\n" * 1000
    assert stack.upload(keep, how, name, body) in (201, 204)
    props = stack.settled(keep, name)
    assert (props["oc:processing-status"], props["oc:scan-status"], props["oc:scan-partial"]) == (
        "ready",
        "clean",
        "false",
    )
    assert keep.request("GET", name).body == body


def test_a_file_over_the_max_scan_size_is_partially_scanned(abort: DavStack) -> None:
    body = b"0123456789" * 30_000  # 300 KB, ANTIVIRUS_MAX_SCAN_SIZE 100 KB
    assert stack.upload(abort, "put", "big.txt", body) == 201
    props = stack.settled(abort, "big.txt")
    assert (props["oc:scan-status"], props["oc:scan-partial"]) == ("clean", "true")
    assert abort.request("GET", "big.txt").body == body
