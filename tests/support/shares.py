"""An owner and a recipient over the real `sharing` extension: the deployment, Sharing calls as each user, PROPFIND.

The WebDAV stack with its front door, `sharing` and `storage-shares`; the admin
owns the folders and shares them with bob (Sharing over gRPC, as each user), bob
reaches them through his /Shares. `sharing` runs in the runtime, or as its own
process when a test must stop it by PID.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ocisd import identity
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc as spb_grpc
from tests.support import webdav_stack
from tests.support.harness import Deployment, Proc, deployment
from tests.support.identity import FAST_ARGON2, add_user, call, token_for
from tests.support.webdav_stack import DavStack

BOB_PW = "bob-pw-for-tests"
PROPS = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
    b"<d:getetag/><oc:fileid/><oc:permissions/><oc:share-types/><oc:privatelink/><oc:owner-id/>"
    b"<oc:owner-display-name/></d:prop></d:propfind>"
)


def responses(body: bytes) -> dict[str, dict[str, str]]:
    """href -> {property local name: inner XML} of a multistatus (200 propstats only)."""
    out: dict[str, dict[str, str]] = {}
    for resp in ET.fromstring(body).iter("{DAV:}response"):
        found: dict[str, str] = {}
        for stat in resp.iter("{DAV:}propstat"):
            if "200" in (stat.findtext("{DAV:}status") or ""):
                for prop in stat.find("{DAV:}prop") or ():
                    inner = "".join(ET.tostring(c, encoding="unicode") for c in prop)
                    found[prop.tag.split("}")[1]] = (prop.text or "") + inner
        out[resp.findtext("{DAV:}href") or ""] = found
    return out


def propfind(dav: DavStack, path: str, depth: str = "1") -> dict[str, dict[str, str]]:
    reply = dav.request("PROPFIND", path, PROPS, {"Depth": depth})
    assert reply.status == 207, (path, reply.status, reply.body)
    return responses(reply.body)


def fileid(dav: DavStack, path: str) -> str:
    return next(iter(propfind(dav, path, "0").values()))["fileid"]


@dataclass
class Users:
    dep: Deployment
    admin: DavStack
    bob: DavStack
    admin_id: str
    bob_id: str
    sharing_proc: Proc | None = None  # set when `sharing` runs as its own process

    def sharing(self, who: str, method: str, request: Any) -> Any:
        user_id = self.admin_id if who == "admin" else self.bob_id
        token = token_for(self.dep, identity.Identity(user_id=user_id, username=who))
        return call(self.dep, "sharing", spb_grpc.SharingStub, method, request, token)

    def share(self, path: str, permissions: int, share_type: Any = spb.SHARE_TYPE_USER) -> str:
        """The admin shares `path` with bob (or, as a link, with nobody in particular); the share's id."""
        request = spb.CreateShareRequest(
            resource_id=fileid(self.admin, path),
            share_type=share_type,
            grantee_id=self.bob_id if share_type == spb.SHARE_TYPE_USER else "",
            permissions=permissions,
        )
        share_id: str = self.sharing("admin", "CreateShare", request).share.id
        return share_id

    def answer(self, share_id: str, state: Any) -> str:
        request = spb.UpdateReceivedShareRequest(id=share_id, state=state)
        mount: str = self.sharing("bob", "UpdateReceivedShare", request).share.mount_point
        return mount

    def received_state(self, share_id: str) -> Any:
        """bob's state of a share he received, as the sharing service keeps it."""
        reply = self.sharing("bob", "ListReceivedShares", spb.ListReceivedSharesRequest())
        return next(s.state for s in reply.shares if s.share.id == share_id)


@contextmanager
def owner_and_recipient(sharing_process: bool = False) -> Iterator[Users]:
    """One deployment: the admin and bob; `sharing_process` runs `sharing` outside the runtime."""
    with deployment() as dep:
        dep.env.update(FAST_ARGON2)  # bob's password is hashed when he is added and checked on his requests
        proxied = webdav_stack.front_door_installed()
        names = webdav_stack.names(proxied) + ",storage-shares"
        # Its own process heartbeats and drains in 0.2 s, so a stop by PID is quick (the default drain is 2 s).
        quick_stop = {"OCIS_HEARTBEAT_INTERVAL": "0.2", "OCIS_DRAIN_TIMEOUT": "0.2"}
        proc = dep.start_extension("sharing", env=quick_stop, wait=False) if sharing_process else None
        dep.start_runtime(names + ("" if sharing_process else ",sharing"), env={"PROXY_ACCESS_LOG": "false"})
        if proc is not None:
            dep.wait_ready("sharing", proc, env=quick_stop)
        admin = webdav_stack.connect(dep, proxied)
        bob_id = add_user(dep, "bob", BOB_PW)
        auth = {"Authorization": "Basic " + b64encode(f"bob:{BOB_PW}".encode()).decode()}
        bob = replace(admin, base="/remote.php/dav/files/bob", auth=auth, user="bob", password=BOB_PW)
        admin_id = webdav_stack.secrets(dep)["admin_user_id"]
        yield Users(dep, admin, bob, admin_id, bob_id, proc)
