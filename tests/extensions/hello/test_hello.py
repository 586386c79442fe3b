"""The hello extension: greet API, gRPC validation, balancing over instances, the page, no-greeter errors."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Iterator

import grpc
import grpc.aio
import pytest
from aiohttp import web

from extensions.hello.http import make_app
from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.node import Node
from tests.support.harness import Deployment, free_port, http_get, http_json, metric_value, running
from tests.support.hello_pair import eventually, start_pair

GREETS = "hello_greet_requests_total"


def _post_raw(url: str, body: bytes) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_greets_are_spread_over_both_instances(dep: Deployment) -> None:
    _, _, env = start_pair(dep)
    for i in range(100):
        assert http_json(dep.url("hello", path="/api/v0/greet"), {"name": f"u{i}"}) == (200, {"message": f"Hello u{i}"})
    inside = metric_value(dep.metrics("hello"), GREETS)
    outside = metric_value(dep.metrics("hello", env), GREETS)
    assert inside + outside == 100
    assert inside > 0 and outside > 0


@pytest.fixture(scope="module")
def howdy() -> Iterator[Deployment]:
    """One runtime with `bus,hello` and another greeting, for the tests that only read from it."""
    with running("bus,hello", env={"HELLO_GREETING": "Howdy, %s!"}) as dep:
        yield dep


def test_greeting_is_config(howdy: Deployment) -> None:
    assert http_json(howdy.url("hello", path="/api/v0/greet"), {"name": "Ada"}) == (200, {"message": "Howdy, Ada!"})


def test_bad_names_and_bodies(howdy: Deployment) -> None:
    dep = howdy
    url = dep.url("hello", path="/api/v0/greet")
    assert http_json(url, {"name": "x" * 256})[0] == 200
    for body in ({"name": ""}, {"name": "x" * 257}, {"name": 5}, {"nom": "Ada"}, ["Ada"]):
        status, reply = http_json(url, body)
        assert status == 400 and isinstance(reply["error"], str), body
    status, ctype, raw = _post_raw(url, b'{"name": "Ada"')
    assert status == 400 and ctype.startswith("application/json") and b'"error"' in raw

    async def grpc_codes() -> list[grpc.StatusCode]:
        codes = []
        async with grpc.aio.insecure_channel(dep.addr("hello", "grpc_addr")) as ch:
            stub = hello_pb2_grpc.HelloStub(ch)
            for name in ("", "x" * 257):
                try:
                    await stub.Greet(hello_pb2.GreetRequest(name=name), timeout=5)
                except grpc.aio.AioRpcError as exc:
                    codes.append(exc.code())
        return codes

    assert asyncio.run(grpc_codes()) == [grpc.StatusCode.INVALID_ARGUMENT] * 2


def test_page_is_served(howdy: Deployment) -> None:
    dep = howdy
    status, html = http_get(dep.url("hello", path="/hello/"))
    assert status == 200 and b'id="greet"' in html and b"/hello/static/app.js" in html
    status, js = http_get(dep.url("hello", path="/hello/static/app.js"))
    assert status == 200 and b"/api/v0/greet" in js


def test_no_live_greeter_is_503(dep: Deployment) -> None:
    """The greet API served where no Greeter runs answers 503, and 200 once one joins the bus."""
    dep.start_runtime("bus")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v0/greet"

    async def scenario() -> list[tuple[int, object]]:
        node = Node(loader.load(None, None, installed(), dep.env).shared)
        await node.start()
        runner = web.AppRunner(make_app(node.rpc))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            results = [await asyncio.to_thread(http_json, url, {"name": "Ada"})]
            await asyncio.to_thread(dep.start_extension, "hello")
            await eventually(lambda: node.registry.healthy("hello"), what="hello in the registry")
            results.append(await asyncio.to_thread(http_json, url, {"name": "Ada"}))
            return results
        finally:
            await runner.cleanup()
            await node.close()

    unavailable, greeted = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert unavailable[0] == 503 and "'hello'" in unavailable[1]["error"]  # type: ignore[index]
    assert greeted == (200, {"message": "Hello Ada"})
