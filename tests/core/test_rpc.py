"""gRPC calls: health, loud bind failures, and the client factory (routing, metadata, deadlines, retries, bursts)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace

import grpc
import grpc.aio
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry, generate_latest

from ocisd import identity
from ocisd.api.hello.v1 import hello_pb2, hello_pb2_grpc
from ocisd.bus.messages import InstanceRecord
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.extension import Context
from ocisd.logs import get_logger
from ocisd.node import Node
from ocisd.rpc.client import ACCESS_TOKEN, REQUEST_ID
from tests.support.harness import Deployment, free_port, metric_value, wait_until
from tests.support.hello_pair import eventually, start_pair

BURST = 2000  # a few thousand concurrent calls, four times the in-flight bound
CALLS = "ocisd_rpc_client_calls_total"
PATH = 'code="OK",extension="probe",path="{path}"'
GREET = "/ocisd.hello.v1.Hello/Greet"


@contextmanager
def _taken(addr: str) -> Iterator[None]:
    """Listen on `addr` so nobody else can bind it."""
    host, port = addr.rsplit(":", 1)
    with socket.socket() as sock:
        sock.bind((host, int(port)))
        sock.listen()
        yield


def _node(dep: Deployment) -> Node:
    return Node(loader.load(None, None, installed(), dep.env).shared)


def test_grpc_health_reports_serving(dep: Deployment) -> None:
    dep.start_runtime("bus,hello")

    async def check() -> int:
        async with grpc.aio.insecure_channel(dep.addr("hello", "grpc_addr")) as ch:
            reply = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            return int(reply.status)

    assert asyncio.run(check()) == health_pb2.HealthCheckResponse.SERVING


def test_grpc_port_taken_fails_loudly_in_runtime(dep: Deployment) -> None:
    addr = dep.addr("hello", "grpc_addr")
    with _taken(addr):
        dep.start_runtime("bus,hello", wait=False)

        def hello_row() -> dict[str, object] | None:
            rows = {r["name"]: r for r in dep.runtime_list()}
            return rows["hello"] if rows.get("hello", {}).get("state") == "failed" else None

        row = wait_until(hello_row, what="hello failed")
    assert addr in str(row["error"]) and "in use" in str(row["error"])
    assert {r["name"]: r["state"] for r in dep.runtime_list()}["bus"] == "running"


def test_grpc_port_taken_fails_loudly_standalone(dep: Deployment) -> None:
    addr = dep.addr("hello", "grpc_addr")
    with _taken(addr):
        res = dep.ocis("hello", "server", timeout=30)
    assert res.returncode != 0
    assert f"cannot bind gRPC address {addr}: already in use" in res.stdout + res.stderr


def test_burst_through_client_factory_is_not_cancelled(dep: Deployment) -> None:
    start_pair(dep)

    async def burst() -> list[str]:
        node = _node(dep)
        await node.start()
        try:
            await eventually(lambda: len(node.registry.healthy("hello")) == 2, what="both hellos")
            greeter = node.rpc.stub("hello", hello_pb2_grpc.HelloStub)
            calls = [greeter.Greet(hello_pb2.GreetRequest(name=f"n{i}")) for i in range(BURST)]
            replies = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 120)
            return [r.message if isinstance(r, hello_pb2.GreetResponse) else repr(r) for r in replies]
        finally:
            await node.close()

    replies = asyncio.run(burst())
    failures = [r for r in replies if not r.startswith("Hello n")]
    assert failures == []


class _Recorder(hello_pb2_grpc.HelloServicer):
    """A real Hello server that remembers the metadata it was called with."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    async def Greet(
        self, request: hello_pb2.GreetRequest, context: grpc.aio.ServicerContext
    ) -> hello_pb2.GreetResponse:
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        if request.name == "slow":
            await asyncio.sleep(5)
        return hello_pb2.GreetResponse(message=f"hi {request.name}")


def _record(name: str, instance: str, grpc_addr: str) -> InstanceRecord:
    return InstanceRecord(name, instance, "localhost", 1, time.time(), {"grpc": grpc_addr}, health="ready")


async def _failure(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, str]:
    """(code, details, error class) of a failing call; keeps no traceback, which would pin the call's channel."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or "", type(exc).__name__
    raise AssertionError("the call succeeded")


def _connected_to(port: int) -> bool:
    conns = psutil.Process().net_connections("tcp")
    return any(c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED for c in conns)


def test_factory_metadata_deadline_retry_and_channel_close(dep: Deployment) -> None:
    async def scenario() -> None:
        recorder = _Recorder()
        server = grpc.aio.server()
        hello_pb2_grpc.add_HelloServicer_to_server(recorder, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        node = _node(dep)
        await node.start()
        try:
            live, dead = f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}"
            node.registry.put_local(_record("probe", "live", live))
            node.registry.put_local(_record("probe", "dead", dead))
            probe = node.rpc.stub("probe", hello_pb2_grpc.HelloStub)

            REQUEST_ID.set("req-42")
            ACCESS_TOKEN.set("token-of-the-caller")
            # Round-robin hits the dead instance half the time; UNAVAILABLE is retried on the live one.
            for i in range(4):
                assert (await probe.Greet(hello_pb2.GreetRequest(name=str(i)))).message == f"hi {i}"
            assert {(m["x-request-id"], m["x-access-token"]) for m in recorder.metadata} == {
                ("req-42", "token-of-the-caller")
            }

            slow = await _failure(probe.Greet(hello_pb2.GreetRequest(name="slow"), timeout=0.3))
            assert slow[0] == grpc.StatusCode.DEADLINE_EXCEEDED
            nobody = node.rpc.stub("nobody", hello_pb2_grpc.HelloStub)
            none = await _failure(nobody.Greet(hello_pb2.GreetRequest(name="x")))
            assert none[0] == grpc.StatusCode.UNAVAILABLE and "'nobody'" in none[1] and none[2] == "NoInstanceError"

            assert _connected_to(port)
            node.registry.remove_local("live")
            await eventually(lambda: not _connected_to(port), what="the channel to the departed instance closed")
        finally:
            await node.close()
            await server.stop(0)

    asyncio.run(asyncio.wait_for(scenario(), 15))


LEAK: ContextVar[str] = ContextVar("test_leak", default="")


class _Probe(hello_pb2_grpc.HelloServicer):
    """Answers by name so each outcome a servicer can produce is one call away."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []

    async def Greet(
        self, request: hello_pb2.GreetRequest, context: grpc.aio.ServicerContext
    ) -> hello_pb2.GreetResponse:
        self.request_ids += [str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"]
        if request.name == "abort":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad name")
        if request.name == "boom":
            raise ValueError("boom")
        if request.name == "setcode":
            context.set_code(grpc.StatusCode.NOT_FOUND)
            context.set_details("nothing here")
            return hello_pb2.GreetResponse()
        if request.name == "slow":
            await asyncio.sleep(5)
        who = identity.CURRENT.get()
        return hello_pb2.GreetResponse(message=f"{request.name} as {who and who.username} leak={LEAK.get()!r}")


async def _outcome(call: Awaitable[hello_pb2.GreetResponse]) -> tuple[str, str]:
    try:
        return "OK", (await call).message
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or ""


async def _parsed(call: Awaitable[bytes]) -> hello_pb2.GreetResponse:
    return hello_pb2.GreetResponse.FromString(await call)


def test_in_process_calls_skip_the_channel_with_identical_semantics(dep: Deployment) -> None:
    """The same calls through the fast path (caller and servicer in one process) and over loopback gRPC."""

    async def scenario() -> None:
        env = {**dep.env, "HELLO_GRPC_ADDR": f"127.0.0.1:{free_port()}"}
        cfg = loader.load("hello", installed()["hello"].config, installed(), env)
        here, there = Node(cfg.shared), Node(cfg.shared)
        ctx = Context(cfg, here, get_logger("probe"), CollectorRegistry())
        probe = _Probe()
        await ctx.serve_grpc(lambda s: hello_pb2_grpc.add_HelloServicer_to_server(probe, s))
        addr = ctx.addresses["grpc"]
        token = identity.mint(cfg.shared.jwt_secret, identity.Identity("u1", "alice"))
        try:
            for node in (here, there):
                node.registry.put_local(_record("probe", "p1", addr))
            cases: list[tuple[str, float | None, str]] = [
                ("ada", None, token),
                ("ada", None, ""),
                ("ada", None, "not-a-token"),
                ("abort", None, token),
                ("boom", None, token),
                ("setcode", None, token),
                ("slow", 0.3, token),
            ]
            LEAK.set("caller's")
            codes: list[str] = []
            identity.CURRENT.set(identity.Identity("u2", "mallory"))
            for name, timeout, tok in cases:
                ACCESS_TOKEN.set(tok)
                outcomes = []
                for node in (here, there):
                    REQUEST_ID.set(f"{name}-{id(node)}")
                    stub = node.rpc.stub("probe", hello_pb2_grpc.HelloStub)
                    outcomes.append(await _outcome(stub.Greet(hello_pb2.GreetRequest(name=name), timeout=timeout)))
                if name == "slow":  # gRPC core words a deadline two ways depending on timing; the code is the contract
                    outcomes = [(code, "") for code, _ in outcomes]
                assert outcomes[0] == outcomes[1], (name, tok, outcomes)
                codes.append(outcomes[0][0])
            # The servicer runs as the token says, never as the caller's context says (mallory, the leak).
            assert codes == ["OK", "UNAUTHENTICATED", "UNAUTHENTICATED", "INVALID_ARGUMENT", "UNKNOWN", "NOT_FOUND"] + [
                "DEADLINE_EXCEEDED"
            ]
            ACCESS_TOKEN.set(token)
            reply = await here.rpc.stub("probe", hello_pb2_grpc.HelloStub).Greet(hello_pb2.GreetRequest(name="ada"))
            assert reply.message == "ada as alice leak=''"
            assert probe.request_ids[:2] == [f"ada-{id(here)}", f"ada-{id(there)}"]
            assert metric_value(generate_latest(here.metrics).decode(), CALLS, PATH.format(path="local")) > 0
            assert metric_value(generate_latest(here.metrics).decode(), CALLS, PATH.format(path="remote")) == 0
            assert metric_value(generate_latest(there.metrics).decode(), CALLS, PATH.format(path="remote")) > 0

            # Serialized in, serialized out (the gateway's forwarding): the same outcomes both ways.
            for name, code in {"ada": "OK", "abort": "INVALID_ARGUMENT", "setcode": "NOT_FOUND"}.items():
                raw = hello_pb2.GreetRequest(name=name).SerializeToString()
                outcomes = [await _outcome(_parsed(n.rpc.call_raw("probe", GREET, raw))) for n in (here, there)]
                assert outcomes[0] == outcomes[1] and outcomes[0][0] == code, (name, outcomes)

            # OCIS_LOCAL_HOP=false: the same process calls through the channel.
            off = Node(replace(cfg.shared, local_hop=False))
            assert not off.rpc.local_hop and not off.local_http.enabled
            await off.close()
            here.rpc.local_hop = False
            before = metric_value(generate_latest(here.metrics).decode(), CALLS, PATH.format(path="remote"))
            await here.rpc.stub("probe", hello_pb2_grpc.HelloStub).Greet(hello_pb2.GreetRequest(name="ada"))
            assert metric_value(generate_latest(here.metrics).decode(), CALLS, PATH.format(path="remote")) == before + 1
        finally:
            await ctx.close(0)
            await here.close()
            await there.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
