"""A file stack with sharing and storage-publiclink behind the TLS proxy, and helpers to make and use links."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from ocisd import identity
from ocisd.api.sharing.v1 import sharing_pb2, sharing_pb2_grpc
from tests.support import sets, webdav_stack
from tests.support.harness import Deployment, deployment
from tests.support.webdav_stack import DavStack, Reply

NAMES = sets.join(sets.PUBLIC_LINKS)
PUBLIC_FILES = "/remote.php/dav/public-files/"
# Small throttle numbers so a test reaches the lockout in a few requests.
THROTTLE = {
    "STORAGE_PUBLICLINK_THROTTLE_FREE_ATTEMPTS": "1",
    "STORAGE_PUBLICLINK_THROTTLE_BASE_DELAY": "20ms",
    "STORAGE_PUBLICLINK_LINK_IP_LOCKOUT": "3",
    "STORAGE_PUBLICLINK_IP_LOCKOUT": "20",
    "PROXY_TRUSTED_PROXIES": "127.0.0.0/8",  # lets a test pose as another client address (X-Forwarded-For)
}
FILEID = b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/></d:prop></d:propfind>'


@contextmanager
def stack(extra_env: dict[str, str] | None = None) -> Iterator[tuple[Deployment, DavStack]]:
    with deployment() as dep:
        dep.start_runtime(NAMES, env={"PROXY_ACCESS_LOG": "false", **THROTTLE, **(extra_env or {})})
        yield dep, webdav_stack.connect(dep, True)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"{user}:{password}".encode()).decode()}


def fileid(dav: DavStack, path: str) -> str:
    reply = dav.request("PROPFIND", path, FILEID, {"Depth": "0"})
    assert reply.status == 207, reply.body
    return ET.fromstring(reply.body).findtext(".//{http://owncloud.org/ns}fileid") or ""


class Sharing:
    """The sharing service's gRPC API, called as the admin (the owner of the files tests share)."""

    def __init__(self, dep: Deployment) -> None:
        s = webdav_stack.secrets(dep)
        who = identity.Identity(user_id=s["admin_user_id"], username=webdav_stack.ADMIN, display_name="Admin")
        self._token = identity.mint(s["jwt_secret"], who, ttl=3600)
        self._channel = grpc.insecure_channel(dep.addr("sharing", "grpc_addr"))
        self._stub = sharing_pb2_grpc.SharingStub(self._channel)

    def _meta(self) -> tuple[tuple[str, str]]:
        return ((identity.GRPC_METADATA, self._token),)

    def link(self, resource_id: str, bits: int, password: str = "", expires: float = 0) -> sharing_pb2.Share:
        request = sharing_pb2.CreateShareRequest(
            resource_id=resource_id,
            share_type=sharing_pb2.SHARE_TYPE_LINK,
            permissions=bits,
            password=password,
            expires=int(expires),
        )
        share: sharing_pb2.Share = self._stub.CreateShare(request, metadata=self._meta(), timeout=10).share
        return share

    def remove(self, share_id: str) -> None:
        self._stub.RemoveShare(sharing_pb2.RemoveShareRequest(id=share_id), metadata=self._meta(), timeout=10)

    def close(self) -> None:
        self._channel.close()


def public(
    dav: DavStack,
    token: str,
    method: str,
    rest: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A request on `/remote.php/dav/public-files/<token>/<rest>` (`headers` carries any password)."""
    return dav.request(method, f"{PUBLIC_FILES}{token}/{rest}", body, headers, auth=False)


def hrefs(reply: Reply) -> list[str]:
    assert reply.status == 207, (reply.status, reply.body)
    return [h.text or "" for h in ET.fromstring(reply.body).iter("{DAV:}href")]


def soon() -> float:
    return time.time() + 86400
