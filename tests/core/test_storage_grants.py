"""Storage grants over real gRPC (gateway → storage-users): who reaches what, with which bits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from prometheus_client import CollectorRegistry

from extensions.storage_users.config import StorageUsersConfig
from ocisd import identity
from ocisd.api.sharing.v1 import permissions as perm
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Grant, Ref
from tests.support.harness import wait_until
from tests.support.storage_stack import ALICE, BOB, Stack, http, reason, ref, running_stack

CAROL = identity.Identity(user_id="carol-id", username="carol", group_ids=("team-id",))
DAVE = identity.Identity(user_id="dave-id", username="dave")
NOT_FOUND, DENIED = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as s:
        yield s


def node(info: pb.ResourceInfo, path: str = "") -> pb.Reference:
    return pb.Reference(node_id=info.id, path=path)


def grant(
    stack: Stack,
    target: pb.ResourceInfo,
    bits: int,
    to: str = BOB.user_id,
    kind: str = "user",
    by: identity.Identity = ALICE,
    expires: int = 0,
) -> None:
    g = pb.Grant(grantee=pb.Grantee(type=kind, id=to), permissions=bits, expires=expires)
    stack.call("AddGrant", pb.AddGrantRequest(ref=node(target), grant=g), by)


def fails(code: grpc.StatusCode, method: str, request: Any, who: identity.Identity = BOB) -> str:
    with pytest.raises(grpc.RpcError) as err:
        stack_call(method, request, who)
    assert err.value.code() == code, (method, err.value.details())
    return reason(err.value)


def tree(stack: Stack, top: str) -> pb.ResourceInfo:
    """`top` with a file and a subfolder holding a file."""
    folder = stack.mkdir(top)
    stack.mkdir(f"{top}/sub")
    assert stack.upload(f"{top}/a.txt", b"aaa").status == 201
    assert stack.upload(f"{top}/sub/b.txt", b"bb").status == 201
    return folder


_STACK: list[Stack] = []


def stack_call(method: str, request: Any, who: identity.Identity) -> Any:
    return _STACK[0].call(method, request, who)


@pytest.fixture(autouse=True)
def _current(stack: Stack) -> Iterator[None]:
    _STACK[:] = [stack]
    yield


def put(stack: Stack, where: pb.Reference, data: bytes, who: identity.Identity = BOB, **opts: Any) -> Any:
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=where, size=len(data), **opts), who)
    return http("PUT", init.upload_url, data)


def test_viewer_reads_below_the_grant_and_changes_nothing(stack: Stack) -> None:
    folder = tree(stack, "/viewed")
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)))  # no grant yet: nothing to see
    grant(stack, folder, perm.VIEWER)
    info = stack.call("Stat", pb.StatRequest(ref=node(folder)), BOB).info
    assert (info.owner_id, info.permission_bits, info.permissions) == (ALICE.user_id, perm.READ, "")
    listing = stack.call("ListContainer", pb.ListContainerRequest(ref=node(folder)), BOB)
    assert [i.name for i in listing.infos] == ["a.txt", "sub"]
    assert all(i.permission_bits == perm.READ for i in listing.infos)
    b = stack.call("Stat", pb.StatRequest(ref=node(folder, "sub/b.txt")), BOB).info
    assert b.size == 2
    down = stack.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=node(folder, "a.txt")), BOB)
    assert http("GET", down.download_url).body == b"aaa"
    fails(DENIED, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "a.txt"), size=1))
    fails(DENIED, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "new.txt"), size=1))
    fails(DENIED, "CreateContainer", pb.CreateContainerRequest(ref=node(folder, "dir")))
    fails(DENIED, "Delete", pb.DeleteRequest(ref=node(folder, "a.txt")))
    fails(DENIED, "Move", pb.MoveRequest(source=node(folder, "a.txt"), destination=node(folder, "z.txt")))
    fails(DENIED, "SetArbitraryMetadata", pb.SetArbitraryMetadataRequest(ref=node(folder), metadata={"{x}y": "1"}))
    fails(DENIED, "ListTrash", pb.ListTrashRequest(ref=node(folder)))
    # Others still see nothing, and the owner's view is unchanged.
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)), DAVE)
    fails(DENIED, "Stat", pb.StatRequest(ref=ref("/viewed", ALICE.user_id)))  # path refs stay the owner's
    mine = stack.stat("/viewed")
    assert (mine.permission_bits, mine.permissions) == (perm.ALL, "RDNVCK")
    assert stack.stat("/viewed/a.txt").permission_bits == perm.FILE_ALL


def test_editor_writes_land_in_the_owners_space(stack: Stack) -> None:
    folder = tree(stack, "/edited")
    grant(stack, folder, perm.EDITOR)
    info = stack.call("Stat", pb.StatRequest(ref=node(folder)), BOB).info
    assert (info.permission_bits, info.permissions) == (perm.EDITOR, "DNVCK")
    assert put(stack, node(folder, "a.txt"), b"changed").status in (200, 201, 204)
    assert put(stack, node(folder, "new.txt"), b"new").status == 201
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=node(folder, "made")), BOB)
    stack.call("Move", pb.MoveRequest(source=node(folder, "new.txt"), destination=node(folder, "made/n.txt")), BOB)
    stack.call("Delete", pb.DeleteRequest(ref=node(folder, "sub")), BOB)
    assert stack.download("/edited/a.txt").body == b"changed"
    assert stack.download("/edited/made/n.txt").body == b"new"
    assert [i.info.name for i in stack.call("ListTrash", pb.ListTrashRequest()).items].count("sub") >= 1
    versions = stack.call("ListFileVersions", pb.ListFileVersionsRequest(ref=ref("/edited/a.txt")))
    assert len(versions.versions) == 1
    # The space root is never reachable through a grant below it.
    root = stack.stat("/")
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(root)))


def test_group_grants_follow_the_group_ids_in_the_token(stack: Stack) -> None:
    folder = tree(stack, "/team")
    grant(stack, folder, perm.EDITOR, to="team-id", kind="group")
    assert put(stack, node(folder, "carol.txt"), b"c", CAROL).status == 201
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)), DAVE)
    left = identity.Identity(user_id=CAROL.user_id, username="carol")  # a token minted after she left
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)), left)
    grants = stack.call("ListGrants", pb.ListGrantsRequest(ref=node(folder))).grants
    assert [(g.grantee.type, g.grantee.id, g.permissions, g.creator_id) for g in grants] == [
        ("group", "team-id", perm.EDITOR, ALICE.user_id)
    ]


def test_custom_bits_each_operation_needs_its_own(stack: Stack) -> None:
    folder = tree(stack, "/custom")
    grant(stack, folder, perm.READ | perm.CREATE)
    assert put(stack, node(folder, "fresh.txt"), b"x").status == 201
    stack.call("CreateContainer", pb.CreateContainerRequest(ref=node(folder, "dir")), BOB)
    fails(DENIED, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "a.txt"), size=1))  # needs UPDATE
    fails(DENIED, "Delete", pb.DeleteRequest(ref=node(folder, "fresh.txt")))
    copied = stack.call("Copy", pb.CopyRequest(source=node(folder, "a.txt"), destination=node(folder, "c.txt")), BOB)
    assert copied.info.permission_bits == perm.READ and copied.info.permissions == ""
    # A grant on a subfolder adds to what is inherited there, and only there.
    sub = stack.stat("/custom/sub")
    grant(stack, sub, perm.EDITOR)
    stack.call("Delete", pb.DeleteRequest(ref=node(folder, "sub/b.txt")), BOB)
    fails(DENIED, "Delete", pb.DeleteRequest(ref=node(folder, "c.txt")))
    assert stack.call("Stat", pb.StatRequest(ref=node(sub)), BOB).info.permission_bits == perm.EDITOR
    listing = stack.call("ListContainer", pb.ListContainerRequest(ref=node(folder)), BOB).infos
    assert {i.name: i.permission_bits for i in listing} == {
        "a.txt": perm.READ,
        "c.txt": perm.READ,
        "dir": perm.READ | perm.CREATE,
        "fresh.txt": perm.READ,
        "sub": perm.EDITOR,
    }
    # Removing the grant takes the bits away again.
    stack.call("RemoveGrant", pb.RemoveGrantRequest(ref=node(folder), grantee=pb.Grantee(type="user", id=BOB.user_id)))
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)))
    assert stack.call("Stat", pb.StatRequest(ref=node(sub)), BOB).info.permission_bits == perm.EDITOR


def test_an_expired_grant_grants_nothing(stack: Stack) -> None:
    folder = tree(stack, "/expiring")
    bad = pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=1, expires=int(time.time()) - 10)
    fails(grpc.StatusCode.INVALID_ARGUMENT, "AddGrant", pb.AddGrantRequest(ref=node(folder), grant=bad), ALICE)
    grant(stack, folder, perm.VIEWER, expires=int(time.time()) + 2)
    assert stack.call("Stat", pb.StatRequest(ref=node(folder)), BOB).info.name == "expiring"

    def gone() -> bool:
        try:
            stack.call("Stat", pb.StatRequest(ref=node(folder)), BOB)
        except grpc.RpcError as exc:
            return exc.code() == NOT_FOUND
        return False

    wait_until(gone, 15, 0.2, what="the grant expiring")


def test_grants_refuse_bad_input(stack: Stack) -> None:
    folder = tree(stack, "/bad-grants")
    file = stack.stat("/bad-grants/a.txt")
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    cases = [
        (folder, pb.Grant(grantee=pb.Grantee(type="robot", id="x"), permissions=1)),
        (folder, pb.Grant(grantee=pb.Grantee(type="user", id=""), permissions=1)),
        (folder, pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=0)),
        (folder, pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=32)),
        (file, pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=perm.EDITOR)),
        (folder, pb.Grant(grantee=pb.Grantee(type="user", id=ALICE.user_id), permissions=1)),
    ]
    for target, g in cases:
        fails(invalid, "AddGrant", pb.AddGrantRequest(ref=node(target), grant=g), ALICE)
    root = stack.stat("/")
    g = pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=1)
    fails(DENIED, "AddGrant", pb.AddGrantRequest(ref=node(root), grant=g), ALICE)
    assert stack.call("ListGrants", pb.ListGrantsRequest(ref=node(folder))).grants == []


def test_reshare_passes_on_at_most_the_bits_held(stack: Stack) -> None:
    folder = tree(stack, "/reshared")
    grant(stack, folder, perm.READ | perm.UPDATE | perm.SHARE)
    grant(stack, folder, perm.READ, to=DAVE.user_id, by=BOB)
    assert stack.call("Stat", pb.StatRequest(ref=node(folder, "a.txt")), DAVE).info.permission_bits == perm.READ
    too_much = pb.Grant(grantee=pb.Grantee(type="user", id=DAVE.user_id), permissions=perm.READ | perm.DELETE)
    fails(DENIED, "AddGrant", pb.AddGrantRequest(ref=node(folder), grant=too_much))
    # Without SHARE: no reshare at all, and nobody sees the grants.
    again = pb.Grant(grantee=pb.Grantee(type="user", id=BOB.user_id), permissions=perm.READ)
    fails(DENIED, "AddGrant", pb.AddGrantRequest(ref=node(folder), grant=again), DAVE)
    fails(DENIED, "ListGrants", pb.ListGrantsRequest(ref=node(folder)), DAVE)
    # A resharer removes the grants they added, not the owner's.
    carol = pb.Grant(grantee=pb.Grantee(type="user", id=CAROL.user_id), permissions=perm.READ)
    stack.call("AddGrant", pb.AddGrantRequest(ref=node(folder), grant=carol))
    fails(DENIED, "RemoveGrant", pb.RemoveGrantRequest(ref=node(folder), grantee=carol.grantee))
    fails(DENIED, "AddGrant", pb.AddGrantRequest(ref=node(folder), grant=carol))  # nor replaces them
    stack.call(
        "RemoveGrant",
        pb.RemoveGrantRequest(ref=node(folder), grantee=pb.Grantee(type="user", id=DAVE.user_id)),
        BOB,
    )
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder)), DAVE)


def scoped(resource: str, bits: int, user: identity.Identity = DAVE) -> identity.Identity:
    return identity.Identity(user_id=user.user_id, username=user.username, scope=identity.Scope(resource, bits))


def test_a_scoped_identity_never_leaves_its_resource(stack: Stack) -> None:
    folder = tree(stack, "/linked")
    sibling = tree(stack, "/not-linked")
    # Even with the owner's own user id, the scope is all a public-link identity reaches.
    for link in (scoped(folder.id, perm.READ), scoped(folder.id, perm.READ, ALICE)):
        assert stack.call("Stat", pb.StatRequest(ref=node(folder, "sub/b.txt")), link).info.permission_bits == 1
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(sibling)), link)
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(stack.stat("/"))), link)
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=ref("/linked")), link)
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=ref("/", ALICE.user_id)), link)
        fails(grpc.StatusCode.INVALID_ARGUMENT, "Stat", pb.StatRequest(ref=node(folder, "../not-linked")), link)
        fails(DENIED, "GetHome", pb.GetHomeRequest(), link)
        fails(DENIED, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "x.txt"), size=1), link)
        fails(DENIED, "AddGrant", pb.AddGrantRequest(ref=node(folder), grant=pb.Grant()), link)
    bob_home = stack.call("GetHome", pb.GetHomeRequest(), BOB).info
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(bob_home)), scoped(folder.id, perm.READ))
    elsewhere = f"{BOB.user_id}!{folder.id.split('!')[1]}"  # the right node id in another space
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=pb.Reference(node_id=elsewhere)), scoped(folder.id, perm.READ))


def test_a_file_drop_takes_new_files_and_shows_nothing(stack: Stack) -> None:
    folder = tree(stack, "/drop")
    drop = scoped(folder.id, perm.FILE_DROP)
    root = stack.call("Stat", pb.StatRequest(ref=node(folder)), drop).info
    assert root.type == pb.RESOURCE_TYPE_CONTAINER and root.permission_bits == perm.CREATE
    listing = stack.call("ListContainer", pb.ListContainerRequest(ref=node(folder)), drop)
    assert listing.info.id == folder.id and list(listing.infos) == []
    fails(NOT_FOUND, "Stat", pb.StatRequest(ref=node(folder, "a.txt")), drop)
    fails(NOT_FOUND, "ListContainer", pb.ListContainerRequest(ref=node(folder, "sub")), drop)
    fails(NOT_FOUND, "InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=node(folder, "a.txt")), drop)
    fails(grpc.StatusCode.ALREADY_EXISTS, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "a.txt")), drop)
    assert put(stack, node(folder, "dropped.txt"), b"drop", drop).status == 201
    assert stack.download("/drop/dropped.txt").body == b"drop"
    assert stack.download("/drop/a.txt").body == b"aaa"


def test_an_upload_url_gives_no_more_than_the_grant(stack: Stack) -> None:
    """The bytes arrive after the check: a name taken meanwhile is not overwritten without UPDATE."""
    folder = tree(stack, "/race")
    grant(stack, folder, perm.READ | perm.CREATE)
    init = stack.call("InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "late.txt"), size=3), BOB)
    assert stack.upload("/race/late.txt", b"own").status == 201  # the owner gets there first
    assert http("PUT", init.upload_url, b"bob").status == 412
    assert stack.download("/race/late.txt").body == b"own"


def test_grantee_sessions_land_in_the_owners_space(stack: Stack) -> None:
    folder = tree(stack, "/sessions")
    grant(stack, folder, perm.EDITOR)
    # TUS style: the target known at creation.
    s = stack.call("CreateUploadSession", pb.CreateUploadSessionRequest(ref=node(folder, "tus.txt"), length=4), BOB)
    assert s.id.startswith(f"{ALICE.user_id}!")
    assert http("PATCH", s.data_url, b"tus!", {"Upload-Offset": "0"}).status == 204
    done = stack.call("FinishUploadSession", pb.FinishUploadSessionRequest(session_id=s.id), BOB)
    assert done.created and done.info.owner_id == ALICE.user_id and done.info.permission_bits == perm.READ | perm.UPDATE
    # Chunking style: a session in the shared folder's space, the target named at the end.
    s = stack.call("CreateUploadSession", pb.CreateUploadSessionRequest(ref=node(folder), length=-1), BOB)
    assert http("PUT", f"{s.data_url}/000", b"chu").status == 201
    assert http("PUT", f"{s.data_url}/001", b"nk").status == 201
    finish = pb.FinishUploadSessionRequest(session_id=s.id, ref=node(folder, "sub/chunked.txt"))
    stack.call("FinishUploadSession", finish, BOB)
    # Chunking NG: the session in the grantee's own home, the target in the share.
    s = stack.call(
        "CreateUploadSession", pb.CreateUploadSessionRequest(ref=pb.Reference(), name="ng-1", length=-1), BOB
    )
    assert http("PUT", f"{s.data_url}/0", b"ng").status == 201
    finish = pb.FinishUploadSessionRequest(session_id=s.id, ref=node(folder, "ng.txt"))
    assert stack.call("FinishUploadSession", finish, BOB).info.owner_id == ALICE.user_id
    assert stack.call("FinishUploadSession", finish, BOB).created  # a retry answers with the same commit
    # UPDATE without CREATE: a session in the folder may replace a file, never make one.
    grant(stack, folder, perm.READ | perm.UPDATE, to=CAROL.user_id)
    s = stack.call("CreateUploadSession", pb.CreateUploadSessionRequest(ref=node(folder), length=-1), CAROL)
    assert http("PUT", f"{s.data_url}/0", b"TUS").status == 201
    new = pb.FinishUploadSessionRequest(session_id=s.id, ref=node(folder, "carol-new.txt"))
    fails(DENIED, "FinishUploadSession", new, CAROL)
    replaced = pb.FinishUploadSessionRequest(session_id=s.id, ref=node(folder, "tus.txt"))
    assert not stack.call("FinishUploadSession", replaced, CAROL).created
    assert stack.download("/sessions/tus.txt").body == b"TUS"
    assert stack.download("/sessions/sub/chunked.txt").body == b"chunk"
    assert stack.download("/sessions/ng.txt").body == b"ng"
    # A viewer gets no session at all.
    grant(stack, folder, perm.VIEWER, to=DAVE.user_id)
    fails(DENIED, "CreateUploadSession", pb.CreateUploadSessionRequest(ref=node(folder, "v.txt"), length=1), DAVE)
    fails(DENIED, "CreateUploadSession", pb.CreateUploadSessionRequest(ref=node(folder), length=1), DAVE)


def test_grantee_writes_count_against_the_owners_quota(stack: Stack) -> None:
    erin = identity.Identity(user_id="erin-id", username="erin")
    admin = identity.service_identity("tests")
    quota = pb.SetSpaceQuotaRequest(ref=pb.Reference(space_id=erin.user_id), owner_id=erin.user_id, total=10)
    stack.call("SetSpaceQuota", quota, admin)
    folder = stack.call("CreateContainer", pb.CreateContainerRequest(ref=ref("/in")), erin).info
    grant(stack, folder, perm.EDITOR, by=erin)
    assert put(stack, node(folder, "six.txt"), b"123456").status == 201
    assert stack.call("GetQuota", pb.GetQuotaRequest(), erin).used == 6
    assert stack.call("GetQuota", pb.GetQuotaRequest(), BOB).used == 0
    fails(grpc.StatusCode.RESOURCE_EXHAUSTED, "InitiateUpload", pb.InitiateUploadRequest(ref=node(folder, "f"), size=5))
    # The grantee's delete goes to the owner's trash bin (still counted until purged).
    stack.call("Delete", pb.DeleteRequest(ref=node(folder, "six.txt")), BOB)
    items = stack.call("ListTrash", pb.ListTrashRequest(), erin).items
    assert [(i.info.name, i.deleted_by) for i in items] == [("six.txt", BOB.user_id)]
    assert stack.call("GetQuota", pb.GetQuotaRequest(), erin).used == 6


def test_deleting_granted_nodes_drops_their_grants_and_announces_them(stack: Stack) -> None:
    shared = loader.load(None, None, installed(), stack.dep.env).shared
    rounds: list[set[str]] = []

    def granted_and_deleted() -> None:
        folder = tree(stack, f"/gone-{len(rounds)}")
        sub = stack.stat(f"/gone-{len(rounds)}/sub")
        grant(stack, folder, perm.VIEWER)
        grant(stack, sub, perm.EDITOR, to=DAVE.user_id)
        rounds.append({folder.id, sub.id})
        stack.call("Delete", pb.DeleteRequest(ref=node(folder)))

    async def run() -> list[dict[str, Any]]:
        listener = BusClient(shared, CollectorRegistry())
        heard: list[dict[str, Any]] = []
        listener.subscribe("event.resources-deleted", lambda m: heard.append(m.data))
        listener.start()
        try:
            # The first events may go out before the subscription reached the broker: delete until heard.
            while not heard and len(rounds) < 50:
                await asyncio.to_thread(granted_and_deleted)
                await asyncio.sleep(0.1)
            return heard
        finally:
            await listener.close()

    heard = asyncio.run(asyncio.wait_for(run(), 60))
    assert {frozenset(h["resource_ids"]) for h in heard} <= {frozenset(r) for r in rounds}
    assert heard
    last = rounds[-1]
    for rid in last:
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=pb.Reference(node_id=rid)))
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=pb.Reference(node_id=rid)), DAVE)
    # Restored from the trash bin, the nodes come back without their grants.
    item = next(i for i in stack.call("ListTrash", pb.ListTrashRequest()).items if i.info.id in last)
    restore = pb.RestoreTrashItemRequest(key=item.key, destination=ref("/restored"))
    stack.call("RestoreTrashItem", restore)
    for rid in last:
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=pb.Reference(node_id=rid)))
        fails(NOT_FOUND, "Stat", pb.StatRequest(ref=pb.Reference(node_id=rid)), DAVE)
    restored = stack.stat("/restored")
    assert stack.call("ListGrants", pb.ListGrantsRequest(ref=node(restored))).grants == []


def test_a_metadata_db_from_before_grants_gets_the_table_at_start(tmp_path: Path) -> None:
    async def run() -> None:
        driver = LocalDriver(StorageUsersConfig(), tmp_path)
        await driver.open()
        root = await driver.ensure_space("s", "owner")
        await driver.mkdir(Ref(space="s", path="/d"), (), 0)
        await driver.close()
        with sqlite3.connect(tmp_path / "metadata.db") as db:
            db.execute("DROP TABLE grants")
        driver = LocalDriver(StorageUsersConfig(), tmp_path)
        await driver.open()
        try:
            await driver.add_grant(Ref(space="s", path="/d"), Grant("user", "u", perm.READ, 0, "owner"))
            reach = await driver.reach(Ref(space="s", path="/d/missing/deeper"))
            assert reach.target is None and reach.chain[-1] == root.id
            assert [(g.grantee, g.bits) for g in reach.grants] == [("u", perm.READ)]
        finally:
            await driver.close()

    asyncio.run(run())


def test_a_delete_without_trash_bin_reports_the_granted_nodes_it_removed(tmp_path: Path) -> None:
    async def run() -> None:
        driver = LocalDriver(StorageUsersConfig(trash_bin=False), tmp_path)
        await driver.open()
        try:
            await driver.ensure_space("s", "owner")
            for path in ("/d", "/d/e", "/d/e/f", "/other"):
                await driver.mkdir(Ref(space="s", path=path), (), 0)
            for path in ("/d/e", "/d/e/f", "/other"):
                await driver.add_grant(Ref(space="s", path=path), Grant("user", "u", perm.READ, 0, "owner"))
            e, f = await driver.stat(Ref(space="s", path="/d/e")), await driver.stat(Ref(space="s", path="/d/e/f"))
            assert sorted(await driver.delete(Ref(space="s", path="/d"), (), "")) == sorted([e.id, f.id])
            assert len(await driver.grants(Ref(space="s", path="/other"))) == 1
            assert await driver.delete(Ref(space="s", path="/other"), (), "") != []
        finally:
            await driver.close()

    asyncio.run(run())


def test_identity_claims_round_trip_and_malformed_ones_are_refused() -> None:
    secret = "s" * 32
    who = identity.Identity(
        user_id="u", username="n", group_ids=("g1", "g2"), scope=identity.Scope("sp!node", perm.CREATE)
    )
    assert identity.verify(secret, identity.mint(secret, who)) == who
    now = int(time.time())
    base = {"iss": identity.ISSUER, "aud": identity.AUDIENCE, "sub": "u", "name": "n", "iat": now, "exp": now + 60}
    bad: list[dict[str, Any]] = [
        {"group_ids": "g1"},
        {"group_ids": ""},
        {"scope": {"resource": "sp!", "bits": 1}},
        {"scope": {"resource": 7, "bits": 1}},
        {"group_ids": [1]},
        {"scope": "sp!node"},
        {"scope": {"resource": "sp!node"}},
        {"scope": {"resource": "sp!node", "bits": True}},
        {"scope": {"resource": "sp!node", "bits": 0}},
        {"scope": {"resource": "sp!node", "bits": 32}},
        {"scope": {"resource": "no-separator", "bits": 1}},
        {"scope": {"resource": "sp!node", "bits": 1, "more": 1}},
    ]
    for extra in bad:
        with pytest.raises(identity.InvalidToken):
            identity.verify(secret, jwt.encode({**base, **extra}, secret, algorithm="HS256"))
