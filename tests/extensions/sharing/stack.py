"""The sharing tests' deployment: users, groups, storage behind the gateway and the sharing service
in one runtime, gRPC clients that call as a given user, and a bus listener for share events."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import zmq

from ocisd import identity
from ocisd.api.identity.v1 import groups_pb2, groups_pb2_grpc
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from tests.support import sets
from tests.support.bus import configured_keys
from tests.support.harness import Deployment, deployment, wait_until
from tests.support.identity import FAST_ARGON2, QUICK_BUS, add_user, config_value

BACKEND = sets.join(sets.SHARING)
USERS = ("alice", "bob", "carol", "dave")
PASSWORD = "share-and-enjoy"


@dataclass
class SharingStack:
    dep: Deployment
    users: dict[str, identity.Identity] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # name -> id
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)

    def token(self, who: str | identity.Identity) -> str:
        person = self.users[who] if isinstance(who, str) else who
        return identity.mint(config_value(self.dep, "jwt_secret"), person, ttl=3600)

    def _channel(self, ext: str) -> grpc.Channel:
        if ext not in self._channels:
            self._channels[ext] = grpc.insecure_channel(self.dep.addr(ext, "grpc_addr"))
        return self._channels[ext]

    def call(self, ext: str, stub_cls: type, method: str, request: Any, who: str | identity.Identity) -> Any:
        metadata = [(identity.GRPC_METADATA, self.token(who))]
        return getattr(stub_cls(self._channel(ext)), method)(request, timeout=30, metadata=metadata)

    def sharing(self, method: str, request: Any, who: str | identity.Identity) -> Any:
        return self.call("sharing", sharing_pb2_grpc.SharingStub, method, request, who)

    def storage(self, method: str, request: Any, who: str = "alice") -> Any:
        return self.call("gateway", storage_pb2_grpc.StorageStub, method, request, who)

    def mkdir(self, path: str, who: str = "alice") -> pb.ResourceInfo:
        return self.storage("CreateContainer", pb.CreateContainerRequest(ref=pb.Reference(path=path)), who).info

    def upload(self, path: str, data: bytes, who: str = "alice") -> pb.ResourceInfo:
        ref = pb.Reference(path=path)
        init = self.storage("InitiateUpload", pb.InitiateUploadRequest(ref=ref, size=len(data)), who)
        with urllib.request.urlopen(urllib.request.Request(init.upload_url, data=data, method="PUT"), timeout=30):
            pass
        return self.storage("Stat", pb.StatRequest(ref=ref), who).info

    def share(self, who: str, resource_id: str, share_type: int, grantee: str = "", perms: int = 1, **kw: Any) -> Any:
        grantee_id = self.users[grantee].user_id if grantee in self.users else self.groups.get(grantee, grantee)
        request = spb.CreateShareRequest(
            resource_id=resource_id, share_type=share_type, grantee_id=grantee_id, permissions=perms, **kw
        )
        return self.sharing("CreateShare", request, who).share

    def received(self, who: str, *states: int) -> list[Any]:
        return list(self.sharing("ListReceivedShares", spb.ListReceivedSharesRequest(states=states), who).shares)

    def answer(self, who: str, share_id: str, state: int, mount_point: str = "") -> Any:
        request = spb.UpdateReceivedShareRequest(id=share_id, state=state, mount_point=mount_point)
        return self.sharing("UpdateReceivedShare", request, who).share

    def add_user(self, name: str) -> identity.Identity:
        self.users[name] = identity.Identity(user_id=add_user(self.dep, name, PASSWORD), username=name)
        return self.users[name]

    def admin_groups(self, method: str, request: Any) -> Any:
        admin = identity.Identity(user_id=config_value(self.dep, "admin_user_id"), username="admin")
        return self.call("groups", groups_pb2_grpc.GroupsStub, method, request, admin)

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


def setup(dep: Deployment, run: str = BACKEND, env: dict[str, str] | None = None) -> SharingStack:
    """Start `run` in one runtime, add the USERS and a group "team" of bob and carol."""
    dep.env.update(FAST_ARGON2)
    dep.env.update(QUICK_BUS)
    dep.start_runtime(run, env=env)
    stack = SharingStack(dep)
    for name in USERS:
        stack.add_user(name)
    team = stack.admin_groups("CreateGroup", groups_pb2.CreateGroupRequest(name="team", display_name="The Team"))
    stack.groups["team"] = team.id
    for member in ("bob", "carol"):
        stack.admin_groups("AddMember", groups_pb2.MemberRequest(group_id=team.id, user_id=stack.users[member].user_id))
    wait_until(lambda: stack.storage("GetHome", pb.GetHomeRequest()), 20, what="gateway routes to storage-users")
    return stack


@contextmanager
def sharing_stack(run: str = BACKEND, env: dict[str, str] | None = None) -> Iterator[SharingStack]:
    with deployment() as dep:
        stack = setup(dep, run, env)
        try:
            yield stack
        finally:
            stack.close()


class Events:
    """Collects `event.<prefix>*` bus messages (their data) from a thread, as a trusted bus client."""

    def __init__(self, dep: Deployment, prefix: str = "share-") -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.curve_serverkey, self._sock.curve_publickey, self._sock.curve_secretkey = configured_keys(dep)
        self._sock.setsockopt(zmq.SUBSCRIBE, f"event.{prefix}".encode())
        self._sock.connect(dep.env["OCIS_BUS_SUB_ADDR"])
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            if self._sock.poll(100):
                payload = json.loads(self._sock.recv_multipart()[-1])
                self.seen.append((payload["event"], payload["data"]))

    def of(self, event: str, share_id: str) -> list[dict[str, Any]]:
        return [d for e, d in list(self.seen) if e == event and d.get("id") == share_id]

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self._ctx.destroy(linger=0)
