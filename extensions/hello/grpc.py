"""The Hello gRPC service: a thin adapter over the greeting rule."""

from __future__ import annotations

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc

MAX_NAME = 256


class HelloService(hello_pb2_grpc.HelloServicer):
    def __init__(self, greeting: str, metrics: CollectorRegistry) -> None:
        self._greeting = greeting
        self._requests = Counter("hello_greet_requests", "Greet calls served by this instance.", registry=metrics)

    async def Greet(
        self, request: hello_pb2.GreetRequest, context: grpc.aio.ServicerContext
    ) -> hello_pb2.GreetResponse:
        self._requests.inc()
        if not request.name or len(request.name) > MAX_NAME:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"name must be 1 to {MAX_NAME} characters")
        return hello_pb2.GreetResponse(message=self._greeting.replace("%s", request.name))
