"""hello: the example extension a third party copies (gRPC service, HTTP API, web page)."""

from __future__ import annotations

from ocisd.api.hello.v1 import hello_pb2_grpc
from ocisd.extension import Context, Extension

from .config import HelloConfig
from .greeting import Greeter
from .grpc import HelloService
from .http import make_app


class Hello(Extension):
    name = "hello"
    summary = "example extension: Greeter gRPC service, greet API and /hello/ page"
    config = HelloConfig
    routes = ("/hello/", "/hello", "/api/v0/greet")

    async def start(self, ctx: Context) -> None:
        service = HelloService(Greeter(ctx.config.greeting), ctx.metrics)
        # Greeting is open to anyone; a token, when sent, names who asks.
        public_grpc = ("/ocisd.hello.v1.Hello/",)
        await ctx.serve_grpc(lambda s: hello_pb2_grpc.add_HelloServicer_to_server(service, s), public=public_grpc)
        await ctx.serve_http(make_app(ctx.rpc), public=self.routes)
