"""The storage API contract: ids split and joined, and a storage error as the status and reason a caller sees."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from ocisd import identity
from ocisd.api.storage.v1 import errors
from ocisd.api.storage.v1.contract import (
    REASON_METADATA,
    caller,
    external_id,
    handled,
    home_space_id,
    shard,
    split_id,
    split_session_id,
)


def test_ids_split_and_join() -> None:
    assert split_id(external_id("alice", "n1")) == ("alice", "n1")
    assert split_session_id("alice!up-1") == ("alice", "up-1")
    assert split_session_id("up-1") == ("", "up-1")  # a bare name: the caller's home
    for bad in ("alice", "!n1", "alice!"):
        with pytest.raises(errors.StorageError) as err:
            split_id(bad)
        assert err.value.kind is errors.Kind.INVALID and err.value.reason == "bad-id"
    with pytest.raises(errors.StorageError):
        split_session_id("!up-1")


def test_home_space_ids_are_safe_tokens_and_shard_by_sha1() -> None:
    assert home_space_id("alice") == "alice"
    odd = home_space_id("CN=alice, O=example")
    assert odd == home_space_id("CN=alice, O=example") and len(odd) == 32 and odd.isalnum()
    assert shard("alice") == "52"  # first byte of sha1("alice")


class Aborted(Exception):
    pass


class FakeContext:
    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        raise Aborted(code, details, dict(trailing_metadata))


def test_a_storage_error_becomes_its_status_and_reason() -> None:
    class Servicer:
        @handled
        async def Stat(self, request: Any, context: Any) -> Any:
            caller()
            raise errors.locked()

    async def call(who: identity.Identity | None) -> tuple[Any, ...]:
        identity.CURRENT.set(who)  # in this task's context only
        with pytest.raises(Aborted) as err:
            await Servicer().Stat(None, FakeContext())
        return err.value.args

    assert asyncio.run(call(None))[0] is grpc.StatusCode.UNAUTHENTICATED  # no verified identity
    code, details, trailing = asyncio.run(call(identity.Identity(user_id="alice", username="alice")))
    assert code is grpc.StatusCode.ABORTED
    assert details == "locked: resource is locked" and trailing == {REASON_METADATA: "locked"}
