"""The greet HTTP API and the /hello/ page; the API calls Greet through the client factory."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import grpc.aio
from aiohttp import web

from ocisd import identity
from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.api.hello.v1.contract import INVALID_NAME, NO_GREETER
from ocisd.rpc.client import RpcClients

STATIC = Path(__file__).parent / "static"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def make_app(rpc: RpcClients) -> web.Application:
    greeter = rpc.stub("hello", hello_pb2_grpc.HelloStub)

    async def greet(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, 'body must be JSON like {"name": "..."}')
        name = body.get("name") if isinstance(body, dict) else None
        who = identity.CURRENT.get()
        if not name and who is not None:  # the authenticated caller, to show identity arriving end to end
            name = who.username
        if not isinstance(name, str):
            return _error(400, 'field "name" must be a string')
        try:
            reply = await greeter.Greet(hello_pb2.GreetRequest(name=name))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == INVALID_NAME:
                return _error(400, exc.details() or "invalid name")
            if exc.code() in NO_GREETER:
                return _error(503, exc.details() or "no greeter available")
            return _error(502, f"greeter failed: {exc.code().name} {exc.details() or ''}".rstrip())
        return web.json_response({"message": reply.message})

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def index_redirect(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/hello/")

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/api/v0/greet", greet)
    app.router.add_get("/hello", index_redirect)
    app.router.add_get("/hello/", page)
    app.router.add_static("/hello/static/", STATIC)
    return app
