"""Paths below `/Shares`: which mount a reference names, and answers rewritten from the owner's paths."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from ocisd.api.sharing.v1 import mounts
from ocisd.api.storage.v1 import storage_pb2 as pb


def split(ref: pb.Reference, home: str) -> tuple[str, str] | None:
    """(mount, rest) of a reference below `/Shares`: ("", "") for the folder itself, rest "" for a mount;
    None for a reference elsewhere."""
    if not mounts.below_shares(ref, home):
        return None
    parts = [p for p in ref.path.split("/") if p][1:]
    if not parts:
        return "", ""
    return parts[0], "/".join(parts[1:])


class MountView:
    """Rewrites the owner's paths in an answer to paths below the mount `root` (e.g. "/Shares/docs")."""

    def __init__(self, root: str, folder_id: str) -> None:
        self.root = root
        self.folder_id = folder_id
        self.owner_root: str | None = None  # the shared resource's path in the owner's space

    def learn(self, reply: Any, rest: str) -> bool:
        """Learn the owner's path of the mount from the answer's `info`, which lies at `rest` below it."""
        if "info" not in reply.DESCRIPTOR.fields_by_name or not reply.HasField("info"):
            return False
        path: str = reply.info.path
        tail = "/" + rest if rest else ""
        if not path.endswith(tail):
            return False
        self.owner_root = path[: len(path) - len(tail)] or "/"
        return True

    def path(self, owner_path: str) -> str:
        root = self.owner_root
        if root is None:
            return owner_path
        if owner_path == root:
            return self.root
        prefix = root.rstrip("/") + "/"
        return self.root + owner_path[len(prefix) - 1 :] if owner_path.startswith(prefix) else owner_path

    def rewrite(self, message: Any) -> None:
        """Every ResourceInfo and Lock in `message`, however deep."""
        if isinstance(message, pb.ResourceInfo):
            self._info(message)
        elif isinstance(message, pb.Lock) and message.root_path:
            message.root_path = self.path(message.root_path)
        for field, value in message.ListFields():
            if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type.GetOptions().map_entry:
                continue
            for item in value if field.is_repeated else (value,):
                self.rewrite(item)

    def _info(self, info: pb.ResourceInfo) -> None:
        info.path = self.path(info.path)
        info.permissions = mounts.letters(info.permissions)
        if info.path == self.root:
            info.name = self.root.rsplit("/", 1)[-1]
            info.parent_id = self.folder_id
