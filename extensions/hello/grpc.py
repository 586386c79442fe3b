"""The Hello gRPC service: a thin adapter over the greeting rule."""

from __future__ import annotations

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter

from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.api.hello.v1.contract import INVALID_NAME

from .greeting import Greeter, InvalidName


class HelloService(hello_pb2_grpc.HelloServicer):
    def __init__(self, greeter: Greeter, metrics: CollectorRegistry) -> None:
        self._greeter = greeter
        self._requests = Counter("hello_greet_requests", "Greet calls served by this instance.", registry=metrics)

    async def Greet(
        self, request: hello_pb2.GreetRequest, context: grpc.aio.ServicerContext
    ) -> hello_pb2.GreetResponse:
        self._requests.inc()
        try:
            message = self._greeter.greet(request.name)
        except InvalidName as exc:
            await context.abort(INVALID_NAME, str(exc))
        return hello_pb2.GreetResponse(message=message)
