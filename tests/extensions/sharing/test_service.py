"""The sharing service against real users, groups, gateway and storage: rules, store, events, races."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
import zmq
from argon2 import PasswordHasher

from ocisd import identity
from ocisd.api.identity.v1 import groups_pb2, users_pb2, users_pb2_grpc
from ocisd.api.sharing.v1 import permissions as bits
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.sharing.v1.contract import RESOURCES_DELETED
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.bus.messages import encode_event
from tests.support.bus import configured_keys, publisher, publishing
from tests.support.harness import wait_until
from tests.support.identity import config_value, service_call

from .stack import Events, SharingStack, sharing_stack

USER, GROUP, LINK = spb.SHARE_TYPE_USER, spb.SHARE_TYPE_GROUP, spb.SHARE_TYPE_LINK
PENDING, ACCEPTED, DECLINED = spb.SHARE_STATE_PENDING, spb.SHARE_STATE_ACCEPTED, spb.SHARE_STATE_DECLINED


@pytest.fixture(scope="module")
def stack() -> Iterator[SharingStack]:
    with sharing_stack() as s:
        s.events = Events(s.dep)  # type: ignore[attr-defined]
        try:
            yield s
        finally:
            s.events.close()  # type: ignore[attr-defined]


def refused(call: object, code: grpc.StatusCode, reason: str = "") -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    exc = info.value
    assert exc.code() == code, exc.details()
    if reason:
        assert dict(exc.trailing_metadata() or ()).get("ocisd-reason") == reason, exc.details()
    return exc


def by_token(stack: SharingStack, token: str) -> spb.GetLinkByTokenResponse:
    request = spb.GetLinkByTokenRequest(token=token)
    return service_call(stack.dep, "sharing", sharing_pb2_grpc.SharingStub, "GetLinkByToken", request)


def test_links_carry_a_token_and_an_argon2id_password(stack: SharingStack) -> None:
    folder = stack.mkdir("/links")
    report = stack.upload("/links/report.txt", b"numbers")
    link = stack.share("alice", folder.id, LINK, perms=1, password="s3cret", name="for the press")
    assert len(link.token) >= 15 and link.has_password and link.name == "for the press" and link.is_folder
    assert link.owner_id == link.creator_id == stack.users["alice"].user_id and link.grantee_id == ""

    found = by_token(stack, link.token)
    assert found.share.id == link.id and found.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(found.password_hash, "s3cret")
    # Only a service may read a link's password hash, and an unknown token is plainly not found.
    refused(
        lambda: stack.sharing("GetLinkByToken", spb.GetLinkByTokenRequest(token=link.token), "alice"),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    refused(lambda: by_token(stack, "x" * 15), grpc.StatusCode.NOT_FOUND)

    upload = stack.share("alice", folder.id, LINK, perms=31)
    assert upload.permissions == 15 and not upload.has_password  # links never pass the share bit on
    on_file = stack.share("alice", report.id, LINK, perms=7)
    assert on_file.permissions == 3 and not on_file.is_folder  # create means nothing on a file
    soon = stack.share("alice", folder.id, LINK, perms=4, expires=int(time.time()) + 2)
    assert by_token(stack, soon.token).share.permissions == 4
    wait_until(lambda: time.time() > soon.expires + 0.5, 10, what="the link expires")
    refused(lambda: by_token(stack, soon.token), grpc.StatusCode.NOT_FOUND)

    mine = stack.sharing("ListShares", spb.ListSharesRequest(resource_ids=[folder.id]), "alice").shares
    assert {s.id for s in mine} == {link.id, upload.id, soon.id}
    assert not stack.sharing("ListShares", spb.ListSharesRequest(), "bob").shares


def test_bad_requests_are_refused_and_create_nothing(stack: SharingStack) -> None:
    folder = stack.mkdir("/refusals")
    alice, bob = stack.users["alice"].user_id, stack.users["bob"].user_id
    before = len(stack.sharing("ListShares", spb.ListSharesRequest(), "alice").shares)
    user_share = {"resource_id": folder.id, "share_type": USER, "grantee_id": bob, "permissions": 1}
    cases = [
        ({"grantee_id": alice}, grpc.StatusCode.INVALID_ARGUMENT, "self-share"),
        ({"grantee_id": "no-such-user-id"}, grpc.StatusCode.NOT_FOUND, "not-found"),
        ({"share_type": GROUP, "grantee_id": "no-such-group"}, grpc.StatusCode.NOT_FOUND, "not-found"),
        ({"resource_id": f"{alice}!0000"}, grpc.StatusCode.NOT_FOUND, "not-found"),
        ({"resource_id": "garbage"}, grpc.StatusCode.NOT_FOUND, "not-found"),
        ({"permissions": 0}, grpc.StatusCode.INVALID_ARGUMENT, "bad-permissions"),
        ({"permissions": 32}, grpc.StatusCode.INVALID_ARGUMENT, "bad-permissions"),
        ({"permissions": 4}, grpc.StatusCode.INVALID_ARGUMENT, "bad-permissions"),  # a user share must read
        ({"expires": int(time.time()) - 60}, grpc.StatusCode.INVALID_ARGUMENT, "expired"),
        ({"share_type": LINK, "grantee_id": "", "expires": 1}, grpc.StatusCode.INVALID_ARGUMENT, "expired"),
        ({"share_type": LINK, "grantee_id": bob}, grpc.StatusCode.INVALID_ARGUMENT, "bad-grantee"),
        ({"password": "x"}, grpc.StatusCode.INVALID_ARGUMENT, "bad-password"),
        ({"share_type": 7}, grpc.StatusCode.INVALID_ARGUMENT, "bad-share-type"),
    ]
    for case, code, reason in cases:
        request = spb.CreateShareRequest(**{**user_share, **case})
        refused(lambda r=request: stack.sharing("CreateShare", r, "alice"), code, reason)
    # bob cannot see alice's folder: for him it does not exist.
    request = spb.CreateShareRequest(**{**user_share, "grantee_id": stack.users["carol"].user_id})
    refused(lambda: stack.sharing("CreateShare", request, "bob"), grpc.StatusCode.NOT_FOUND, "not-found")
    root = stack.storage("Stat", pb.StatRequest(ref=pb.Reference(path="/"))).info
    refused(lambda: stack.share("alice", root.id, LINK), grpc.StatusCode.PERMISSION_DENIED, "space-root")
    assert len(stack.sharing("ListShares", spb.ListSharesRequest(), "alice").shares) == before


def test_user_shares_are_pending_then_accepted_under_unique_mount_points(stack: SharingStack) -> None:
    first = stack.mkdir("/photos")
    stack.mkdir("/archive")
    inner = stack.mkdir("/archive/photos")
    a = stack.share("alice", first.id, USER, "bob", perms=1)
    b = stack.share("alice", inner.id, USER, "bob", perms=15)
    assert a.permissions == 1 and b.permissions == 15 and a.is_folder
    refused(lambda: stack.share("alice", first.id, USER, "bob", perms=1), grpc.StatusCode.ALREADY_EXISTS)
    got = {r.share.id: r for r in stack.received("bob")}
    assert got[a.id].state == got[b.id].state == PENDING and got[a.id].mount_point == "photos"
    assert not stack.received("bob", ACCEPTED) and not [r for r in stack.received("carol") if r.share.id == a.id]

    assert stack.answer("bob", a.id, ACCEPTED).mount_point == "photos"
    assert stack.answer("bob", b.id, ACCEPTED).mount_point == "photos (2)"
    assert stack.answer("bob", b.id, ACCEPTED, "holidays").mount_point == "holidays"
    assert {r.mount_point for r in stack.received("bob", ACCEPTED)} >= {"photos", "holidays"}
    assert stack.answer("bob", a.id, DECLINED).state == DECLINED
    assert stack.answer("bob", b.id, ACCEPTED, "photos").mount_point == "photos"  # free again
    refused(lambda: stack.answer("bob", a.id, ACCEPTED, "a/b"), grpc.StatusCode.INVALID_ARGUMENT, "bad-mount-point")
    refused(lambda: stack.answer("carol", a.id, ACCEPTED), grpc.StatusCode.NOT_FOUND)  # not hers
    refused(lambda: stack.answer("alice", a.id, ACCEPTED), grpc.StatusCode.NOT_FOUND)  # her own

    events = stack.events  # type: ignore[attr-defined]
    bob = stack.users["bob"].user_id
    wait_until(lambda: events.of("share-accepted", a.id), 10, what="share-accepted")
    created = events.of("share-created", a.id)[0]
    assert created["recipients"] == [bob] and created["resource_id"] == first.id and created["share_type"] == USER
    assert events.of("share-accepted", a.id)[0]["recipients"] == [bob]


def test_group_shares_keep_one_state_per_member_and_follow_membership(stack: SharingStack) -> None:
    folder = stack.mkdir("/team-room")
    share = stack.share("alice", folder.id, GROUP, "team", perms=3)
    assert share.grantee_id == stack.groups["team"]
    stack.answer("bob", share.id, ACCEPTED)
    states = {who: {r.share.id: r.state for r in stack.received(who)}.get(share.id) for who in ("bob", "carol", "dave")}
    assert states == {"bob": ACCEPTED, "carol": PENDING, "dave": None}
    refused(lambda: stack.answer("alice", share.id, ACCEPTED), grpc.StatusCode.NOT_FOUND)  # she is not in it
    refused(lambda: stack.answer("dave", share.id, ACCEPTED), grpc.StatusCode.NOT_FOUND)

    team, users = stack.groups["team"], stack.users
    stack.admin_groups("AddMember", groups_pb2.MemberRequest(group_id=team, user_id=users["dave"].user_id))
    stack.admin_groups("RemoveMember", groups_pb2.MemberRequest(group_id=team, user_id=users["carol"].user_id))
    assert share.id in {r.share.id for r in stack.received("dave", PENDING)}
    assert share.id not in {r.share.id for r in stack.received("carol")}
    stack.admin_groups("AddMember", groups_pb2.MemberRequest(group_id=team, user_id=users["carol"].user_id))

    events = stack.events  # type: ignore[attr-defined]
    wait_until(lambda: events.of("share-created", share.id), 10, what="share-created")
    assert set(events.of("share-created", share.id)[0]["recipients"]) == {users["bob"].user_id, users["carol"].user_id}


def test_reshares_stay_within_what_the_resharer_holds(stack: SharingStack) -> None:
    folder = stack.mkdir("/reshare")
    viewer = stack.share("alice", folder.id, USER, "bob", perms=1 | 16)
    stack.answer("bob", viewer.id, ACCEPTED)
    again = stack.share("bob", folder.id, USER, "carol", perms=1)
    assert again.creator_id == stack.users["bob"].user_id and again.owner_id == stack.users["alice"].user_id
    assert again.parent_share_id == viewer.id
    refused(
        lambda: stack.share("bob", folder.id, USER, "dave", perms=3),
        grpc.StatusCode.PERMISSION_DENIED,
        "exceeds-permissions",
    )
    plain = stack.share("alice", stack.mkdir("/no-reshare").id, USER, "carol", perms=1)
    refused(
        lambda: stack.share("carol", plain.resource_id, USER, "dave", perms=1),
        grpc.StatusCode.PERMISSION_DENIED,
        "no-share-permission",
    )
    # alice sees bob's reshare of her folder with `reshares`; carol's share is carol's.
    mine = stack.sharing("ListShares", spb.ListSharesRequest(reshares=True, resource_ids=[folder.id]), "alice").shares
    assert {s.id for s in mine} == {viewer.id, again.id}


def test_reshares_narrow_and_go_with_the_share_they_were_made_through(stack: SharingStack) -> None:
    """bob reshares what alice gave him; when alice narrows or revokes bob's share, carol's reshare
    narrows or goes with it (in the storage too), so a reshare never holds more than its creator."""
    folder = stack.mkdir("/chain")
    stack.upload("/chain/doc.txt", b"v1")
    first = stack.share("alice", folder.id, USER, "bob", perms=bits.READ | bits.UPDATE | bits.SHARE)
    stack.answer("bob", first.id, ACCEPTED)
    second = stack.share("bob", folder.id, USER, "carol", perms=bits.READ | bits.UPDATE | bits.SHARE)
    stack.answer("carol", second.id, ACCEPTED)
    third = stack.share("carol", folder.id, USER, "dave", perms=bits.READ | bits.UPDATE)
    inside = pb.Reference(node_id=folder.id, path="/doc.txt")
    assert stack.storage("Stat", pb.StatRequest(ref=inside), "dave").info.permission_bits & bits.UPDATE

    update = spb.UpdateShareRequest(id=first.id, set_permissions=True, permissions=bits.READ | bits.SHARE)
    stack.sharing("UpdateShare", update, "alice")
    for share_id, who in ((second.id, "bob"), (third.id, "carol")):
        got = stack.sharing("GetShare", spb.GetShareRequest(id=share_id), who).share
        assert got.permissions & bits.UPDATE == 0, got
    assert stack.storage("Stat", pb.StatRequest(ref=inside), "dave").info.permission_bits == bits.READ
    # bob still may narrow (or remove) the reshare he made, as its creator.
    narrower = spb.UpdateShareRequest(id=second.id, set_permissions=True, permissions=bits.READ)
    stack.sharing("UpdateShare", narrower, "bob")
    refused(lambda: stack.sharing("GetShare", spb.GetShareRequest(id=third.id), "carol"), grpc.StatusCode.NOT_FOUND)
    assert not any(r.share.id == third.id for r in stack.received("dave"))

    stack.sharing("RemoveShare", spb.RemoveShareRequest(id=first.id), "alice")
    assert not any(r.share.id == second.id for r in stack.received("carol"))
    refused(lambda: stack.storage("Stat", pb.StatRequest(ref=inside), "carol"), grpc.StatusCode.NOT_FOUND)
    refused(lambda: stack.storage("Stat", pb.StatRequest(ref=inside), "dave"), grpc.StatusCode.NOT_FOUND)


def test_update_and_remove(stack: SharingStack) -> None:
    folder = stack.mkdir("/updates")
    share = stack.share("alice", folder.id, USER, "bob", perms=1)
    request = spb.UpdateShareRequest(
        id=share.id, set_permissions=True, permissions=15, set_expires=True, expires=int(time.time()) + 86400
    )
    updated = stack.sharing("UpdateShare", request, "alice").share
    assert updated.permissions == 15 and updated.expires == request.expires
    refused(lambda: stack.sharing("UpdateShare", request, "bob"), grpc.StatusCode.PERMISSION_DENIED, "not-yours")
    refused(
        lambda: stack.sharing("UpdateShare", spb.UpdateShareRequest(id=share.id, set_expires=True, expires=5), "alice"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "expired",
    )
    assert stack.sharing("GetShare", spb.GetShareRequest(id=share.id), "bob").share.permissions == 15
    refused(lambda: stack.sharing("GetShare", spb.GetShareRequest(id=share.id), "dave"), grpc.StatusCode.NOT_FOUND)

    link = stack.share("alice", folder.id, LINK, perms=1, password="old")
    cleared = spb.UpdateShareRequest(id=link.id, set_password=True, password="", set_name=True, name="renamed")
    assert not stack.sharing("UpdateShare", cleared, "alice").share.has_password
    assert by_token(stack, link.token).share.name == "renamed"

    stack.sharing("RemoveShare", spb.RemoveShareRequest(id=share.id), "alice")
    refused(lambda: stack.sharing("GetShare", spb.GetShareRequest(id=share.id), "alice"), grpc.StatusCode.NOT_FOUND)
    assert share.id not in {r.share.id for r in stack.received("bob")}
    events = stack.events  # type: ignore[attr-defined]
    wait_until(lambda: events.of("share-removed", share.id), 10, what="share-removed")
    assert events.of("share-updated", share.id) and events.of("share-removed", share.id)[0]["recipients"] == [
        stack.users["bob"].user_id
    ]


def test_resources_deleted_on_the_bus_removes_their_shares(stack: SharingStack) -> None:
    folder = stack.mkdir("/doomed")
    share = stack.share("alice", folder.id, LINK, perms=1)
    kept = stack.share("alice", stack.mkdir("/kept").id, LINK, perms=1)
    sock = publisher(zmq.Context.instance(), stack.dep.env["OCIS_BUS_PUB_ADDR"], configured_keys(stack.dep))
    try:
        with publishing(
            sock,
            encode_event(RESOURCES_DELETED, {"resource_ids": "not a list"}),
            encode_event(RESOURCES_DELETED, {"resource_ids": [folder.id]}),
        ):
            wait_until(lambda: stack.events.of("share-removed", share.id), 15, what="share removed")  # type: ignore[attr-defined]
    finally:
        sock.close()
    refused(lambda: by_token(stack, share.token), grpc.StatusCode.NOT_FOUND)
    assert by_token(stack, kept.token).share.id == kept.id


def test_concurrent_accept_and_revoke_end_consistently(stack: SharingStack) -> None:
    folder = stack.mkdir("/race")
    for _ in range(8):
        share = stack.share("alice", folder.id, USER, "bob", perms=1)
        outcome: dict[str, object] = {}

        def accept(share_id: str = share.id, outcome: dict[str, object] = outcome) -> None:
            try:
                outcome["accept"] = stack.answer("bob", share_id, ACCEPTED).state
            except grpc.RpcError as exc:
                outcome["accept"] = exc.code()

        def revoke(share_id: str = share.id) -> None:
            stack.sharing("RemoveShare", spb.RemoveShareRequest(id=share_id), "alice")

        threads = [threading.Thread(target=accept), threading.Thread(target=revoke)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcome["accept"] in (ACCEPTED, grpc.StatusCode.NOT_FOUND)
        assert share.id not in {r.share.id for r in stack.received("bob")}
        refused(
            lambda s=share.id: stack.sharing("GetShare", spb.GetShareRequest(id=s), "alice"), grpc.StatusCode.NOT_FOUND
        )


def test_a_move_keeps_shares_and_a_delete_removes_them(stack: SharingStack) -> None:
    folder = stack.mkdir("/wandering")
    share = stack.share("alice", folder.id, USER, "bob", perms=1)
    link = stack.share("alice", folder.id, LINK, perms=1)
    stack.mkdir("/elsewhere")
    move = pb.MoveRequest(source=pb.Reference(path="/wandering"), destination=pb.Reference(path="/elsewhere/w"))
    stack.storage("Move", move)
    assert stack.sharing("GetShare", spb.GetShareRequest(id=share.id), "bob").share.resource_id == folder.id
    assert by_token(stack, link.token).share.id == link.id

    stack.storage("Delete", pb.DeleteRequest(ref=pb.Reference(path="/elsewhere")))
    events = stack.events  # type: ignore[attr-defined]
    wait_until(
        lambda: events.of("share-removed", share.id) and events.of("share-removed", link.id),
        15,
        what="the shares of the deleted folder removed",
    )
    refused(lambda: by_token(stack, link.token), grpc.StatusCode.NOT_FOUND)
    assert share.id not in {r.share.id for r in stack.received("bob")}


def test_shares_to_a_deleted_user_go_with_them(stack: SharingStack) -> None:
    folder = stack.mkdir("/for-erin")
    erin = stack.add_user("erin")
    share = stack.share("alice", folder.id, USER, "erin", perms=1)
    stack.answer("erin", share.id, ACCEPTED)
    admin = identity.Identity(user_id=config_value(stack.dep, "admin_user_id"), username="admin")
    stack.call("users", users_pb2_grpc.UsersStub, "DeleteUser", users_pb2.DeleteUserRequest(id=erin.user_id), admin)
    wait_until(lambda: stack.events.of("share-removed", share.id), 15, what="the share to erin removed")  # type: ignore[attr-defined]
    refused(lambda: stack.sharing("GetShare", spb.GetShareRequest(id=share.id), "alice"), grpc.StatusCode.NOT_FOUND)
