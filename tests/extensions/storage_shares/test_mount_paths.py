"""Units: which mount a reference names, the owner's paths rewritten below it, the permission letters."""

from __future__ import annotations

from extensions.storage_shares.paths import MountView, split
from ocisd.api.sharing.v1 import mounts
from ocisd.api.storage.v1 import storage_pb2 as pb


def test_split_names_the_mount_and_the_rest() -> None:
    assert split(pb.Reference(path="/Shares"), "me") == ("", "")
    assert split(pb.Reference(path="/Shares/docs"), "me") == ("docs", "")
    assert split(pb.Reference(space_id="me", path="/Shares/docs/a/b.txt"), "me") == ("docs", "a/b.txt")
    assert split(pb.Reference(path="/Sharesque/x"), "me") is None
    assert split(pb.Reference(space_id="other", path="/Shares/docs"), "me") is None
    assert split(pb.Reference(node_id="me!x", path="/Shares/docs"), "me") is None


def test_answers_are_rewritten_below_the_mount() -> None:
    view = MountView("/Shares/docs", "me!shares")
    reply = pb.ListContainerResponse(
        info=pb.ResourceInfo(path="/work/docs/sub", permissions="DNVCK", type=pb.RESOURCE_TYPE_CONTAINER),
        infos=[
            pb.ResourceInfo(
                path="/work/docs/sub/a.txt",
                permissions="RDNVW",
                locks=[pb.Lock(root_path="/work/docs/sub/a.txt")],
            )
        ],
    )
    assert view.learn(reply, "sub")
    view.rewrite(reply)
    assert reply.info.path == "/Shares/docs/sub" and reply.info.permissions == "SMDNVCK"
    child = reply.infos[0]
    assert (child.path, child.permissions, child.locks[0].root_path) == (
        "/Shares/docs/sub/a.txt",
        "SRMDNVW",
        "/Shares/docs/sub/a.txt",
    )


def test_the_mount_root_gets_the_mount_name_and_the_shares_folder_as_parent() -> None:
    view = MountView("/Shares/docs (2)", "me!shares")
    reply = pb.StatResponse(info=pb.ResourceInfo(path="/docs", name="docs", parent_id="owner!root"))
    assert view.learn(reply, "")
    view.rewrite(reply)
    assert (reply.info.path, reply.info.name, reply.info.parent_id) == ("/Shares/docs (2)", "docs (2)", "me!shares")
    assert not view.learn(pb.DeleteResponse(), "")
    assert view.path("/elsewhere") == "/elsewhere"  # never inside the mount unless it is


def test_letters() -> None:
    assert mounts.letters("") == "SM"
    assert mounts.letters("R") == "SRM"
    assert mounts.letters("RDNVCK") == "SRMDNVCK"
