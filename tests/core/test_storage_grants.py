"""Storage grants over real gRPC (gateway → storage-users): who reaches what, with which bits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from ocisd import identity
from ocisd.api.sharing.v1 import permissions as perm
from ocisd.api.storage.v1 import storage_pb2 as pb
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
    stack: Stack, target: pb.ResourceInfo, bits: int, who: str = BOB.user_id, kind: str = "user", **kw: Any
) -> None:
    g = pb.Grant(grantee=pb.Grantee(type=kind, id=who), permissions=bits, **kw)
    stack.call("AddGrant", pb.AddGrantRequest(ref=node(target), grant=g), kw.pop("by", ALICE))


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
