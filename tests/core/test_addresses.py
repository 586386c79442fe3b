"""Which address an extension announces: the one peers on other hosts dial (issue #20), and the one local
tools dial. The three-host test (tests/multihost/) shows both across real namespaces."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import pytest

from ocisd import addresses
from ocisd.bus.messages import InstanceRecord, MessageError, decode, encode_record
from ocisd.config import loader
from ocisd.discovery import installed
from ocisd.supervisor.config import GenerateError, parse_program_env
from tests.support.netns import Hosts


def test_a_specific_listener_announces_its_own_address() -> None:
    assert addresses.advertised("10.1.2.3:9157", "peer.example") == "10.1.2.3:9157"
    assert addresses.advertised("[fd00::3]:9157") == "[fd00::3]:9157"
    assert addresses.advertised("127.0.0.1:9157", "peer.example") == "127.0.0.1:9157"


def test_a_wildcard_listener_announces_the_advertise_host_else_the_default_routes_address() -> None:
    assert addresses.advertised("0.0.0.0:9157", "storage-b.example") == "storage-b.example:9157"
    assert addresses.advertised("[::]:9157", "fd00::2") == "[fd00::2]:9157"
    own = addresses.default_route_host()
    assert addresses.advertised("0.0.0.0:9157") == addresses.join(own or "127.0.0.1", 9157)
    # Local tools still dial a wildcard listener over loopback.
    assert addresses.connectable("0.0.0.0:9157") == "127.0.0.1:9157"


def test_without_a_default_route_a_wildcard_listener_announces_loopback() -> None:
    """Inside a namespace whose only link is loopback (a host with no network yet)."""
    code = (
        "from ocisd import addresses as a; print(a.advertised('0.0.0.0:1'), a.advertised('[::]:2'), a.host_address())"
    )
    with Hosts() as hosts:
        hosts.ip("-n", hosts.namespaces["a"], "route", "del", "default")
        res = hosts.run("a", [sys.executable, "-c", code])
    assert res.stdout.split() == ["127.0.0.1:1", "[::1]:2", "127.0.0.1"], res.stderr


def test_one_extension_may_advertise_another_host_name() -> None:
    env = {"OCIS_ADVERTISE_HOST": "10.0.0.9", "STORAGE_USERS_ADVERTISE_HOST": "storage.example"}
    known = installed()
    assert loader.load("storage-users", known["storage-users"].config, known, env).shared.advertise_host == (
        "storage.example"
    )
    assert loader.load("gateway", known["gateway"].config, known, env).shared.advertise_host == "10.0.0.9"


def test_a_record_carries_its_hosts_address_and_one_without_it_is_still_read() -> None:
    rec = InstanceRecord("hello", "abc", "host-b", 42, 1.0, {"grpc": "10.0.0.2:9106"}, address="10.0.0.2")
    assert decode(encode_record("heartbeat", rec)).record == rec
    old = asdict(rec)
    del old["address"]
    frames = [b"heartbeat.hello", json.dumps({"v": 1, "kind": "heartbeat", "record": old}).encode()]
    assert decode(frames).record == InstanceRecord(**{**old, "address": ""})
    frames[1] = json.dumps({"v": 1, "kind": "heartbeat", "record": {**old, "address": 7}}).encode()
    with pytest.raises(MessageError):
        decode(frames)


def test_program_env_sets_one_instances_own_variables() -> None:
    items = ["storage-users-2:STORAGE_USERS_HOME_RANGE=80-ff", "ocis-storage-users:STORAGE_USERS_HOME_RANGE=00-7f"]
    assert parse_program_env(items, ["storage-users"], {"storage-users": 2}) == {
        "ocis-storage-users-2": {"STORAGE_USERS_HOME_RANGE": "80-ff"},
        "ocis-storage-users": {"STORAGE_USERS_HOME_RANGE": "00-7f"},
    }
    for bad in ("ocis-storage-users-3:X=1", "ocis-storage-users:x=1", "ocis-storage-users:X", "X=1"):
        with pytest.raises(GenerateError):
            parse_program_env([bad], ["storage-users"], {"storage-users": 2})
