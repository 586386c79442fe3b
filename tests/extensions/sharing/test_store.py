"""The share store on its own, on SQLite and PostgreSQL: unique mount points, one state per recipient, races
between connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from extensions.sharing.config import SharingConfig
from extensions.sharing.stores import (
    ACCEPTED,
    DECLINED,
    PENDING,
    Duplicate,
    ShareRecord,
    ShareStore,
    load,
    unique_name,
)
from ocisd.config.schema import ConfigError


def record(
    resource: str = "space!node", grantee: str = "bob", share_type: int = 0, target: str = "docs"
) -> ShareRecord:
    return ShareRecord(
        id="",
        share_type=share_type,
        resource_id=resource,
        is_folder=True,
        target=target,
        owner_id="alice",
        creator_id="alice",
        parent_share_id="",
        grantee_id=grantee,
        permissions=1,
        expires=0,
        ctime=1,
        token="",
        name="",
        password_hash="",
    )


def test_unique_names_count_up_before_the_extension() -> None:
    assert unique_name("docs", set()) == "docs"
    assert unique_name("docs", {"docs", "docs (2)"}) == "docs (3)"
    assert unique_name("report.txt", {"report.txt"}) == "report (2).txt"
    assert unique_name(".profile", {".profile"}) == ".profile (2)"


@pytest.fixture(params=["sqlite", "postgres"])
def opens(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], ShareStore]:
    """Opens a store on the driver; every store it opens shares one database."""
    dsn = request.getfixturevalue("postgres").new_database() if request.param == "postgres" else ""
    return lambda: load(SharingConfig(driver=request.param), tmp_path, dsn)


def test_states_are_per_recipient_and_mount_points_unique(opens: Callable[[], ShareStore]) -> None:
    store = opens()
    first = store.add(record("s!1", "team", 1))
    second = store.add(record("s!2", "bob"))
    with pytest.raises(Duplicate):
        store.add(record("s!2", "bob"))
    assert first.id.isdigit() and int(second.id) > int(first.id)
    assert [(r.state, r.mount_point) for r in store.received("carol", ["team"])] == [(PENDING, "docs")]
    assert store.answer(first.id, "bob", ACCEPTED, "").mount_point == "docs"  # type: ignore[union-attr]
    assert store.answer(second.id, "bob", ACCEPTED, "").mount_point == "docs (2)"  # type: ignore[union-attr]
    assert {r.share.id: r.state for r in store.received("carol", ["team"])} == {first.id: PENDING}
    assert store.answer(first.id, "carol", DECLINED, "").state == DECLINED  # type: ignore[union-attr]
    assert {r.state for r in store.received("bob", ["team"])} == {ACCEPTED}
    assert store.remove(first.id) == first and store.answer(first.id, "bob", ACCEPTED, "") is None
    assert store.get("not-a-number") is None and store.update("12x", {"name": "n"}) is None
    store.close()


def test_accept_racing_removal_across_connections_ends_consistently(opens: Callable[[], ShareStore]) -> None:
    stores = [opens(), opens()]
    for n in range(30):
        share = stores[0].add(record(f"s!{n}"))
        threads = [
            threading.Thread(target=stores[1].answer, args=(share.id, "bob", ACCEPTED, "")),
            threading.Thread(target=stores[0].remove, args=(share.id,)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert stores[0].get(share.id) is None and not stores[1].received("bob", [])
    leftovers = stores[0]._db.execute("SELECT COUNT(*) FROM received").fetchone()[0]  # type: ignore[attr-defined]
    assert leftovers == 0  # no state outlives its share
    for s in stores:
        s.close()


def test_accepts_racing_for_one_mount_point_across_connections_get_two(opens: Callable[[], ShareStore]) -> None:
    stores = [opens(), opens()]
    for n in range(10):
        shares = [stores[0].add(record(f"r{n}!{i}", target=f"t{n}")) for i in range(2)]
        pairs = zip(stores, shares, strict=True)
        threads = [threading.Thread(target=st.answer, args=(sh.id, "bob", ACCEPTED, "")) for st, sh in pairs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mounts = {r.mount_point for r in stores[0].received("bob", []) if r.share in shares}
        assert mounts == {f"t{n}", f"t{n} (2)"}
    for s in stores:
        s.close()


def test_an_unknown_driver_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sharing.driver"):
        load(SharingConfig(driver="nosuch"), tmp_path)
