"""The gateway's Storage service: authenticate, find the provider, forward bytes unchanged.

Requests are parsed only to read the reference; the original bytes go to the
provider through the rpc client factory (`call_raw`: its metrics, deadline,
UNAVAILABLE retry, in-flight bound and in-process fast path) and the answer (or
error status, details and `ocisd-reason`) comes back as is, so a 10 000-entry
listing costs no re-serialisation here.

A provider instance that refuses the connection (SIGKILLed, restarting) never got
the call: the space is routed again and the call repeated, for up to the
no-instance wait, and then fails UNAVAILABLE (ocdav's 503 with Retry-After).
The spaces of the other instances are not touched by it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import grpc.aio

from ocisd import identity
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1.contract import abort, caller, home_space_id, split_id, split_session_id
from ocisd.rpc.client import REQUEST_ID, RpcClients, Target, refused
from ocisd.rpc.local import rpc_error

from .providers import NoProvider, Providers
from .shares import ROOT_METHODS, SharesFolders, is_home_root, targets_shares

SERVICE = "ocisd.storage.v1.Storage"
HOME_METHODS = ("GetHome", "CreateHome")
SPACE_METHODS = ("CreateSpace", "GetSpace", "UpdateSpace", "DeleteSpace")  # routed by request.space_id
FAN_OUT = "ListSpaces"  # asked of one instance of every provider, answers merged
RETRY_PAUSE = 0.1  # between calls to a space's provider while its instances refuse connections


def space_of(method: str, request: Any, who: identity.Identity) -> str:
    if method in HOME_METHODS:
        return home_space_id(who.user_id)
    if method in SPACE_METHODS:
        if not request.space_id:
            raise errors.invalid("bad-id", "space_id is required")
        return str(request.space_id)
    if session_id := getattr(request, "session_id", ""):
        return split_session_id(session_id)[0] or home_space_id(who.user_id)
    ref: pb.Reference = request.source if hasattr(request, "source") else request.ref
    if ref.node_id:
        return split_id(ref.node_id)[0]
    return ref.space_id or home_space_id(who.user_id)


def _raw(data: bytes) -> bytes:
    return data


class Forwarder:
    def __init__(self, providers: Providers, rpc: RpcClients, shares: SharesFolders, shares_provider: str) -> None:
        self._providers = providers
        self._rpc = rpc
        self._shares = shares
        self._shares_provider = shares_provider

    def handler(self, method: str, request_cls: Any) -> grpc.RpcMethodHandler:
        path = f"/{SERVICE}/{method}"

        async def forward(request: tuple[bytes, Any], context: grpc.aio.ServicerContext) -> bytes:
            raw, message = request
            targets: list[Target] | None
            try:
                who = caller()
                home = home_space_id(who.user_id)
                asked = await self._providers.one_each() if method == FAN_OUT else []
                space = ""
                if asked:
                    provider, targets = "", None
                elif targets_shares(message, home):
                    provider, targets = self._shares_provider, None
                else:
                    space = space_of(method, message, who)
                    provider, targets = await self._providers.route(space)
            except errors.StorageError as exc:
                await abort(context, exc)
                raise AssertionError("unreachable") from None
            except NoProvider as exc:
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
                raise AssertionError("unreachable") from None
            # The caller's token goes on by itself (authz sets it for this call); its request id too:
            request_id = next((str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"), "")
            reset = REQUEST_ID.set(request_id)
            try:
                if asked:
                    return await self._list_spaces(path, raw, asked, context.time_remaining())
                if space and targets is not None:
                    answer = await self._on_holder(space, provider, targets, path, raw, context.time_remaining())
                else:
                    answer = await self._rpc.call_raw(provider, path, raw, timeout=context.time_remaining())
                if method in ROOT_METHODS and is_home_root(message, home):
                    answer = await self._shares.decorate(method, message, answer, who)
                return answer
            except grpc.aio.AioRpcError as exc:
                await context.abort(
                    exc.code(), exc.details() or "", trailing_metadata=tuple(exc.trailing_metadata() or ())
                )
                raise AssertionError("unreachable") from None
            finally:
                REQUEST_ID.reset(reset)

        def deserialize(data: bytes) -> tuple[bytes, Any]:
            return data, request_cls.FromString(data)

        return grpc.unary_unary_rpc_method_handler(forward, request_deserializer=deserialize, response_serializer=_raw)

    async def _on_holder(
        self, space: str, provider: str, targets: list[Target], path: str, raw: bytes, timeout: float | None
    ) -> bytes:
        """The call on the instances holding `space`; refused connections route it again (the refusing
        instance has left the registry then), up to the providers' wait, then UNAVAILABLE."""
        until = time.monotonic() + self._providers.wait
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                left = None if deadline is None else deadline - time.monotonic()
                return await self._rpc.call_raw(provider, path, raw, timeout=left, targets=targets)
            except grpc.aio.AioRpcError as exc:
                if not refused(exc) or time.monotonic() >= until:
                    raise
            await asyncio.sleep(RETRY_PAUSE)
            try:
                provider, targets = await self._providers.route(space, until)
            except NoProvider as exc:
                raise rpc_error(grpc.StatusCode.UNAVAILABLE, str(exc)) from None

    async def _list_spaces(
        self, path: str, raw: bytes, asked: list[tuple[str, Target]], timeout: float | None
    ) -> bytes:
        """Every live provider's spaces for the caller, one instance of each asked at once; an asked one
        failing fails the call (its spaces missing would look like spaces gone). A provider with no live
        instance is not asked, and one that cannot answer (UNAVAILABLE: killed and refusing connections, or
        its connection reset as it died; a read, so nothing is half done) is left out: its spaces are
        missing from lists until it is back."""
        results = await asyncio.gather(
            *(self._rpc.call_raw(name, path, raw, timeout=timeout, targets=[target]) for name, target in asked),
            return_exceptions=True,
        )
        answers = [r for r in results if isinstance(r, bytes)]
        failed = [r for r in results if not isinstance(r, bytes)]
        for exc in failed:
            gone = isinstance(exc, grpc.aio.AioRpcError) and exc.code() == grpc.StatusCode.UNAVAILABLE
            if not gone or not answers:
                raise exc
        merged = pb.ListSpacesResponse()
        seen: set[str] = set()
        for answer in answers:
            for space in pb.ListSpacesResponse.FromString(answer).spaces:
                if space.id not in seen:  # a space two instances of one provider both answer for
                    seen.add(space.id)
                    merged.spaces.append(space)
        data: bytes = merged.SerializeToString()
        return data

    def register(self, server: grpc.aio.Server) -> None:
        """Serve every method of the Storage service (registered so in-process callers find them too)."""
        service = pb.DESCRIPTOR.services_by_name["Storage"]
        handlers = {m.name: self.handler(m.name, getattr(pb, m.input_type.name)) for m in service.methods}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        server.add_registered_method_handlers(SERVICE, handlers)
