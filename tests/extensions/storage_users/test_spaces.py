"""Project spaces through the gateway (real bus, two storage-users instances with split home ranges,
gateway): created by a service, members as grants on the root with viewer/editor/manager enforced,
per-space quota, disable/restore/purge, and ListSpaces merged over both providers."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from ocisd import identity
from ocisd.api.sharing.v1.permissions import ALL, EDITOR, VIEWER
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import PERSONAL, PROJECT, SPACE_ROLES, home_space_id, shard, space_role
from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.storage.local import tree
from tests.extensions.gateway.test_gateway import Providers, providers  # noqa: F401 (the fixture)
from tests.support.harness import wait_until
from tests.support.storage_stack import ALICE, BOB, Stack, http, reason

GRAPH = identity.service_identity("graph")
CAROL = identity.Identity(user_id="carol-id", username="carol", group_ids=("team-id",))
DAVE = identity.Identity(user_id="dave-id", username="dave")
ALICE_NAMED = identity.Identity(user_id=ALICE.user_id, username="alice", display_name="Alice Adams")


def space_id_in(lo: str, hi: str, tag: str) -> str:
    return next(f"{tag}{i:04x}" for i in range(10000) if lo <= shard(f"{tag}{i:04x}") <= hi)


@pytest.fixture(scope="module")
def spaces(request: pytest.FixtureRequest) -> Providers:
    """test_gateway's two instances, both known to the gateway (each routes a project space it holds)."""
    two: Providers = request.getfixturevalue("providers")
    for sid in (space_id_in("00", "7f", "w"), space_id_in("80", "ff", "w")):
        wait_until(partial(create, two.stack, sid, "warm-up"), 20, what=f"routes {sid}")
    return two


def create(stack: Stack, space_id: str, name: str, manager: str = ALICE.user_id, quota: int = 0) -> pb.Space:
    request = pb.CreateSpaceRequest(space_id=space_id, name=name, manager_id=manager, quota=quota)
    return stack.call("CreateSpace", request, who=GRAPH).space


def root(space_id: str, path: str = "") -> pb.Reference:
    return pb.Reference(node_id=f"{space_id}!{space_id}", path=path)


def fails(stack: Stack, method: str, request: object, who: identity.Identity) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        stack.call(method, request, who=who)
    return err.value


def listed(stack: Stack, who: identity.Identity, **kw: object) -> dict[str, pb.Space]:
    return {s.id: s for s in stack.call("ListSpaces", pb.ListSpacesRequest(**kw), who=who).spaces}


def grant(stack: Stack, space_id: str, kind: str, grantee: str, role: str, who: identity.Identity) -> None:
    g = pb.Grant(grantee=pb.Grantee(type=kind, id=grantee), permissions=SPACE_ROLES[role])
    stack.call("AddGrant", pb.AddGrantRequest(ref=root(space_id), grant=g), who=who)


def upload(stack: Stack, space_id: str, name: str, data: bytes, who: identity.Identity) -> int:
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=root(space_id, name), size=len(data)), who=who)
    return http("PUT", init.upload_url, data).status


def spaces_in(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "metadata.db") as db:
        return {row[0] for row in db.execute("SELECT id FROM spaces")}


def blob_nodes(data_dir: Path) -> set[str]:
    return {p.name.partition(".")[0] for p in (data_dir / "blobs").rglob("*") if p.is_file()}


def test_only_services_create_spaces_and_list_them_all(spaces: Providers) -> None:
    stack = spaces.stack
    sid = space_id_in("00", "7f", "a")
    err = fails(stack, "CreateSpace", pb.CreateSpaceRequest(space_id=sid, name="x", manager_id=ALICE.user_id), ALICE)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert fails(stack, "ListSpaces", pb.ListSpacesRequest(all=True), ALICE).code() == grpc.StatusCode.PERMISSION_DENIED
    for bad_name in ("", "x" * 256, "tab\x01"):
        err = fails(stack, "CreateSpace", pb.CreateSpaceRequest(space_id=sid, name=bad_name), GRAPH)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(err) == "bad-name"
    err = fails(stack, "CreateSpace", pb.CreateSpaceRequest(space_id="a!b", name="x"), GRAPH)
    assert reason(err) == "bad-id"
    made = create(stack, sid, "Marketing Team")
    assert (made.type, made.name, made.alias, made.owner_id) == (
        PROJECT,
        "Marketing Team",
        "project/marketing-team",
        "",
    )
    assert made.root.id == f"{sid}!{sid}" and made.quota.unlimited and not made.disabled
    assert fails(stack, "CreateSpace", pb.CreateSpaceRequest(space_id=sid, name="again"), GRAPH).code() == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    assert sid in listed(stack, GRAPH, all=True)
    assert stack.call("GetSpace", pb.GetSpaceRequest(space_id=sid), who=GRAPH).space.name == "Marketing Team"


def test_personal_spaces_are_listed_with_the_owners_name(spaces: Providers) -> None:
    stack = spaces.stack
    mine = listed(spaces.stack, ALICE_NAMED, type=PERSONAL)
    home = mine[home_space_id(ALICE.user_id)]
    assert list(mine) == [home.id]
    assert (home.type, home.name, home.alias, home.owner_id) == (PERSONAL, "Alice Adams", "personal/alice", "alice-id")
    assert home.root.permission_bits == ALL
    got = stack.call("GetSpace", pb.GetSpaceRequest(space_id=home.id), who=ALICE_NAMED).space
    assert got.alias == "personal/alice"
    assert fails(stack, "GetSpace", pb.GetSpaceRequest(space_id=home.id), BOB).code() == grpc.StatusCode.NOT_FOUND
    err = fails(stack, "DeleteSpace", pb.DeleteSpaceRequest(space_id=home.id), ALICE)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=pb.Reference(path="/still-mine")), who=ALICE)


def test_members_roles_are_enforced(spaces: Providers) -> None:
    stack = spaces.stack
    sid = space_id_in("80", "ff", "r")
    create(stack, sid, "Roles")
    assert listed(stack, ALICE)[sid].root.permission_bits == ALL
    assert upload(stack, sid, "plan.txt", b"manager wrote", ALICE) in (200, 201)
    grant(stack, sid, "user", BOB.user_id, "viewer", ALICE)
    grant(stack, sid, "group", "team-id", "editor", ALICE)

    bob_view = listed(stack, BOB)[sid]
    assert space_role(bob_view.root.permission_bits) == "viewer" and bob_view.root.permission_bits == VIEWER
    assert stack.call("Stat", pb.StatRequest(ref=root(sid, "plan.txt")), who=BOB).info.size == len(b"manager wrote")
    err = fails(stack, "CreateContainer", pb.CreateContainerRequest(ref=root(sid, "bobs")), BOB)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    err = fails(stack, "InitiateUpload", pb.InitiateUploadRequest(ref=root(sid, "plan.txt"), size=1), BOB)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED

    assert listed(stack, CAROL)[sid].root.permission_bits == EDITOR  # through her group
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=root(sid, "carols")), who=CAROL)
    assert upload(stack, sid, "carols/notes.txt", b"editor wrote", CAROL) in (200, 201)
    with pytest.raises(grpc.RpcError) as err_info:
        grant(stack, sid, "user", DAVE.user_id, "viewer", CAROL)
    assert err_info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    err = fails(stack, "UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, name="mine now"), CAROL)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED

    by_space_id = pb.Reference(space_id=sid, path="/carols/notes.txt")  # members may name the space by id too
    assert stack.call("Stat", pb.StatRequest(ref=by_space_id), who=BOB).info.size == len(b"editor wrote")
    assert fails(stack, "Stat", pb.StatRequest(ref=by_space_id), DAVE).code() == grpc.StatusCode.NOT_FOUND

    assert sid not in listed(stack, DAVE)
    for method, request in (
        ("GetSpace", pb.GetSpaceRequest(space_id=sid)),
        ("Stat", pb.StatRequest(ref=root(sid))),
        ("ListContainer", pb.ListContainerRequest(ref=root(sid))),
    ):
        assert fails(stack, method, request, DAVE).code() == grpc.StatusCode.NOT_FOUND

    # A manager manages members others added, and may make another manager.
    grant(stack, sid, "user", DAVE.user_id, "manager", ALICE)
    stack.call(
        "RemoveGrant", pb.RemoveGrantRequest(ref=root(sid), grantee=pb.Grantee(type="user", id=BOB.user_id)), who=DAVE
    )
    assert sid not in listed(stack, BOB)
    renamed = stack.call("UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, name="Roles 2", description="d"), who=DAVE)
    assert (renamed.space.name, renamed.space.description) == ("Roles 2", "d")
    assert sid in spaces_in(spaces.high_dir) and sid not in spaces_in(spaces.low_dir)


def test_each_project_space_has_its_own_quota(spaces: Providers) -> None:
    stack = spaces.stack
    sid = space_id_in("00", "7f", "q")
    made = create(stack, sid, "Small", quota=10)
    assert (made.quota.total, made.quota.unlimited) == (10, False)
    assert upload(stack, sid, "fits.txt", b"12345", ALICE) in (200, 201)
    err = fails(stack, "InitiateUpload", pb.InitiateUploadRequest(ref=root(sid, "big.txt"), size=20), ALICE)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    err = fails(stack, "UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, quota=100), ALICE)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED  # quotas: services only (graph checks the role)
    raised = stack.call("UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, quota=100), who=GRAPH).space
    assert (raised.quota.total, raised.quota.used) == (100, 5)
    assert upload(stack, sid, "big.txt", b"x" * 20, ALICE) in (200, 201)
    quota = stack.call("GetQuota", pb.GetQuotaRequest(ref=root(sid)), who=ALICE)
    assert (quota.total, quota.used) == (100, 25)


def test_disable_restore_and_purge(spaces: Providers) -> None:
    stack = spaces.stack
    sid = space_id_in("80", "ff", "d")
    create(stack, sid, "Short-lived")
    grant(stack, sid, "user", BOB.user_id, "editor", ALICE)
    assert upload(stack, sid, "a.txt", b"first", ALICE) in (200, 201)
    assert upload(stack, sid, "a.txt", b"second", ALICE) in (200, 201)  # a version
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=root(sid, "trashed")), who=ALICE)
    stack.call("Delete", pb.DeleteRequest(ref=root(sid, "trashed")), who=ALICE)
    trash = stack.call("ListTrash", pb.ListTrashRequest(ref=root(sid)), who=ALICE).items  # managers keep the bin
    assert [item.original_path for item in trash] == ["/trashed"]
    assert fails(stack, "ListTrash", pb.ListTrashRequest(ref=root(sid)), BOB).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    late = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=root(sid, "late.txt"), size=4), who=BOB)

    err = fails(stack, "DeleteSpace", pb.DeleteSpaceRequest(space_id=sid, purge=True), ALICE)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(err) == "not-disabled"
    assert fails(stack, "DeleteSpace", pb.DeleteSpaceRequest(space_id=sid), BOB).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    stack.call("DeleteSpace", pb.DeleteSpaceRequest(space_id=sid), who=ALICE)

    assert listed(stack, ALICE)[sid].disabled and sid not in listed(stack, BOB)
    err = fails(stack, "Stat", pb.StatRequest(ref=root(sid, "a.txt")), ALICE)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(err) == "disabled"
    assert fails(stack, "Stat", pb.StatRequest(ref=root(sid, "a.txt")), BOB).code() == grpc.StatusCode.NOT_FOUND
    assert fails(stack, "GetSpace", pb.GetSpaceRequest(space_id=sid), BOB).code() == grpc.StatusCode.NOT_FOUND
    err = fails(stack, "UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, name="n"), ALICE)
    assert reason(err) == "disabled"

    assert http("PUT", late.upload_url, b"late").status >= 400  # a URL signed before the disable writes nothing

    restored = stack.call("UpdateSpace", pb.UpdateSpaceRequest(space_id=sid, restore=True), who=ALICE).space
    assert not restored.disabled
    assert stack.call("Stat", pb.StatRequest(ref=root(sid, "a.txt")), who=BOB).info.size == len(b"second")

    err = fails(stack, "Stat", pb.StatRequest(ref=root(sid, "late.txt")), BOB)
    assert err.code() == grpc.StatusCode.NOT_FOUND
    stack.call("DeleteSpace", pb.DeleteSpaceRequest(space_id=sid), who=GRAPH)
    with sqlite3.connect(spaces.high_dir / "metadata.db") as db:
        nodes = {row[0] for row in db.execute("SELECT id FROM nodes WHERE space LIKE ?", (f"%{sid}",))}
    assert nodes & blob_nodes(spaces.high_dir)
    stack.call("DeleteSpace", pb.DeleteSpaceRequest(space_id=sid, purge=True), who=ALICE)
    assert fails(stack, "GetSpace", pb.GetSpaceRequest(space_id=sid), GRAPH).code() == grpc.StatusCode.NOT_FOUND
    assert sid not in listed(stack, ALICE)
    with sqlite3.connect(spaces.high_dir / "metadata.db") as db:
        for table in ("nodes", "grants", "versions", "trash"):
            assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE space LIKE ?", (f"%{sid}",)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM blob_gc").fetchone()[0] == 0
    assert not nodes & blob_nodes(spaces.high_dir)
    assert sid not in spaces_in(spaces.high_dir)


def test_list_spaces_merges_every_provider_and_reads_an_index(spaces: Providers) -> None:
    stack = spaces.stack
    ids = [space_id_in("00", "7f", "m"), space_id_in("80", "ff", "m")]
    for sid in ids:
        create(stack, sid, f"Merged {sid}", manager=DAVE.user_id)
    mine = listed(stack, DAVE)
    assert set(ids) <= set(mine) and home_space_id(DAVE.user_id) in mine
    assert {mine[sid].provider_id for sid in ids} == {"users", "users-80-ff"}
    assert set(listed(stack, DAVE, type=PROJECT)) >= set(ids) and home_space_id(DAVE.user_id) not in listed(
        stack, DAVE, type=PROJECT
    )
    with sqlite3.connect(spaces.low_dir / "metadata.db") as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT node FROM grants WHERE grantee=? AND grantee_type=? AND node = space",
            ("dave-id", "user"),
        ).fetchall()
    assert any("grants_roots" in str(row) for row in plan)


def test_a_member_of_a_hundred_spaces_lists_them_all(spaces: Providers) -> None:
    stack = spaces.stack
    many = identity.Identity(user_id="many-id", username="many")
    ids = {space_id_in(lo, hi, f"h{i:02x}") for i in range(50) for lo, hi in (("00", "7f"), ("80", "ff"))}
    for sid in ids:
        create(stack, sid, f"Space {sid}", manager=many.user_id)
    mine = listed(stack, many, type=PROJECT)
    assert set(mine) == ids and all(s.root.permission_bits == ALL for s in mine.values())


def test_older_databases_get_the_space_columns(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE spaces(id TEXT PRIMARY KEY, owner TEXT NOT NULL, quota INTEGER NOT NULL,"
                   " created INTEGER NOT NULL)")  # fmt: skip
        db.execute("INSERT INTO spaces VALUES('old', 'old-owner', -1, 0)")
    tree.connect(path).close()
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT owner, type, name, alias, disabled FROM spaces WHERE id='old'").fetchone()
    assert row == ("old-owner", PERSONAL, "", "", 0)


def test_space_events_reach_the_bus(spaces: Providers) -> None:
    stack = spaces.stack
    shared = loader.load(None, None, installed(), stack.dep.env).shared
    made: list[str] = []

    async def run() -> list[dict[str, Any]]:
        listener = BusClient(shared, CollectorRegistry())
        heard: list[dict[str, Any]] = []
        listener.subscribe("event.space-created", lambda m: heard.append(m.data))
        listener.start()
        try:  # the first events may go out before the subscription reached the broker: create until heard
            while not heard and len(made) < 50:
                made.append(space_id_in("00", "ff", f"e{len(made):02x}"))
                await asyncio.to_thread(create, stack, made[-1], "Evented")
                await asyncio.sleep(0.1)
            return heard
        finally:
            await listener.close()

    heard = asyncio.run(asyncio.wait_for(run(), 60))
    assert heard and all(h["space_id"] in made and h["type"] == PROJECT for h in heard)


def test_list_spaces_asks_the_live_providers(spaces: Providers) -> None:
    low, high = space_id_in("00", "7f", "s"), space_id_in("80", "ff", "s")
    for sid in (low, high):
        create(spaces.stack, sid, "Stopped", manager=BOB.user_id)
    spaces.high.stop()  # the last test of the module: the high instance stays down
    mine = wait_until(lambda: (m := listed(spaces.stack, BOB)) and high not in m and m, 20, what="high gone")
    assert low in mine
    err = fails(spaces.stack, "GetSpace", pb.GetSpaceRequest(space_id=high), BOB)
    assert err.code() == grpc.StatusCode.UNAVAILABLE  # its own calls wait for it, never go elsewhere
