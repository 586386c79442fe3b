"""The storage stack the storage and gateway tests share (no tests of its own): bus,
storage-users and gateway as real processes, a gRPC client for the gateway with a minted
internal token, and data-URL helpers."""

from __future__ import annotations

import asyncio
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import grpc

from extensions.storage_users.config import StorageUsersConfig
from ocisd import identity
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.sql import Engine
from ocisd.storage.local.driver import LocalDriver
from ocisd.storage.resources import Ref
from tests.support.harness import Deployment, Proc, deployment, wait_until

ALICE = identity.Identity(user_id="alice-id", username="alice")
BOB = identity.Identity(user_id="bob-id", username="bob")


@dataclass
class Reply:
    status: int
    headers: Message  # case-insensitive lookups
    body: bytes


@dataclass
class Stack:
    dep: Deployment
    storage: Proc
    gateway: Proc
    storage_env: dict[str, str] = field(default_factory=dict)
    _channel: grpc.Channel | None = None

    @property
    def secret(self) -> str:
        return str(tomllib.loads((self.dep.config_dir / "ocis.toml").read_text())["jwt_secret"])

    def token(self, who: identity.Identity = ALICE) -> str:
        return identity.mint(self.secret, who, ttl=3600)

    @property
    def stub(self) -> pb_grpc.StorageStub:
        if self._channel is None:
            self._channel = grpc.insecure_channel(self.dep.addr("gateway", "grpc_addr"))
        return pb_grpc.StorageStub(self._channel)

    def call(self, method: str, request: Any, who: identity.Identity | None = ALICE, token: str | None = None) -> Any:
        """Call the gateway as `who` (or with a raw `token`)."""
        metadata = (
            [] if who is None and token is None else [(identity.GRPC_METADATA, token or self.token(who or ALICE))]
        )
        return getattr(self.stub, method)(request, metadata=metadata, timeout=30)

    def stat(self, path: str, who: identity.Identity = ALICE) -> pb.ResourceInfo:
        return self.call("Stat", pb.StatRequest(ref=ref(path)), who).info

    def mkdir(self, path: str, who: identity.Identity = ALICE) -> pb.ResourceInfo:
        return self.call("CreateContainer", pb.CreateContainerRequest(ref=ref(path)), who).info

    def upload(self, path: str, data: bytes, headers: dict[str, str] | None = None, **opts: Any) -> Reply:
        """InitiateUpload through the gateway, then PUT the bytes to the signed URL."""
        opts.setdefault("size", len(data))
        init = self.call("InitiateUpload", pb.InitiateUploadRequest(ref=ref(path), **opts))
        return http("PUT", init.upload_url, data, headers)

    def download(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        init = self.call("InitiateFileDownload", pb.InitiateFileDownloadRequest(ref=ref(path)))
        return http(method, init.download_url, None, headers)

    def driver(self) -> LocalDriver:
        """The local driver opened in this process on storage-users' data dir (for bulk fills), on its
        PostgreSQL schema when the stack keeps metadata there (close `driver.sql` after the driver)."""
        driver = LocalDriver(StorageUsersConfig(), self.dep.data_dir / "storage-users")
        dsn = self.storage_env.get("STORAGE_USERS_POSTGRES_DSN")
        if dsn:
            driver.sql = Engine(dsn, "storage_users")
            driver.sql.open()
        return driver

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def ref(path: str, space: str = "") -> pb.Reference:
    return pb.Reference(space_id=space, path=path)


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read())


def reason(exc: grpc.RpcError) -> str:
    return str(dict(exc.trailing_metadata() or ()).get("ocisd-reason", ""))


def bulk_create(stack: Stack, folder: str, names: list[str], folders: bool = False) -> int:
    """Create many children straight through the driver API in this process (SQLite WAL is multi-process)."""

    async def run() -> int:
        driver = stack.driver()
        await driver.open()
        try:
            return await driver.bulk_create(Ref(space=ALICE.user_id, path=folder), names, folders)
        finally:
            await driver.close()
            if driver.sql is not None:
                driver.sql.close()

    return asyncio.run(run())


def start_storage(dep: Deployment, env: dict[str, str] | None = None) -> Proc:
    return dep.start_extension("storage-users", env=env)


def start_stack(dep: Deployment, storage_env: dict[str, str] | None = None) -> Stack:
    storage = dep.start_extension("storage-users", env=storage_env, wait=False)  # beside the other two
    _, gateway = dep.start_extensions("bus", "gateway")
    dep.wait_ready("storage-users", storage, storage_env)
    stack = Stack(dep, storage, gateway, dict(storage_env or {}))
    wait_until(lambda: stack.call("GetHome", pb.GetHomeRequest()), 20, what="gateway routes to storage-users")
    return stack


@contextmanager
def running_stack(storage_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A fresh deployment with the stack started; everything stopped afterwards."""
    with deployment() as dep:
        s = start_stack(dep, storage_env)
        try:
            yield s
        finally:
            s.close()


def blob_files(stack: Stack) -> list[Path]:
    root = stack.dep.data_dir / "storage-users" / "blobs"
    return [p for p in root.rglob("*") if p.is_file()]
