"""OCS endpoints of the frontend: capabilities, the current user and the server config."""

from __future__ import annotations

from typing import Any

import grpc.aio
from aiohttp import web

from ocisd import identity, product
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc as pb_grpc
from ocisd.bus.registry import Registry
from ocisd.config.shared import SharedConfig
from ocisd.logs import get_logger
from ocisd.ocs import UNAUTHORISED, quota_object, respond
from ocisd.rpc.client import RpcClients

from . import capabilities
from .config import FrontendConfig

PREFIXES = ("/ocs/v1.php", "/ocs/v2.php")
log = get_logger("frontend")


def server_config(shared: SharedConfig) -> dict[str, str]:
    """`/config` as oCIS answers it: the public URL as host, ssl as text."""
    ssl = "true" if shared.url.lower().startswith("https://") else "false"
    return {"version": "1.7", "website": "ownCloud", "host": shared.url, "contact": "", "ssl": ssl}


def make_app(cfg: FrontendConfig, registry: Registry, rpc: RpcClients, shared: SharedConfig) -> web.Application:
    async def user_quota() -> dict[str, Any] | None:
        try:
            reply = await rpc.stub("gateway", pb_grpc.StorageStub).GetQuota(pb.GetQuotaRequest())
        except grpc.aio.AioRpcError as exc:  # the rest of the answer still lets a client log in
            log.debug("no quota for cloud/user", code=exc.code().name, details=exc.details())
            return None
        return quota_object(reply)

    async def get_capabilities(request: web.Request) -> web.Response:
        data = {"version": product.version(), "capabilities": capabilities.build(cfg, registry, shared)}
        return respond(request, data)

    async def get_user(request: web.Request) -> web.Response:
        who = identity.CURRENT.get()
        if who is None:  # the internal-token guard lets no anonymous request this far
            return respond(request, None, UNAUTHORISED)
        data: dict[str, Any] = {
            "id": who.username,
            "display-name": who.display_name or who.username,
            "email": who.email,
            "language": cfg.default_language,
        }
        if (quota := await user_quota()) is not None:
            data["quota"] = quota
        return respond(request, data)

    async def get_config(request: web.Request) -> web.Response:
        return respond(request, server_config(shared))

    app = web.Application()
    for prefix in PREFIXES:
        app.router.add_get(f"{prefix}/cloud/capabilities", get_capabilities)
        app.router.add_get(f"{prefix}/cloud/user", get_user)
        app.router.add_get(f"{prefix}/config", get_config)
    return app
