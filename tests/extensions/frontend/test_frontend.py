"""frontend: OCS capabilities built from config and the live registry, and the current user."""

from __future__ import annotations

import json
import time
import tomllib
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from ocisd import identity
from ocisd.bus.messages import InstanceRecord, encode_record
from tests.support.bus import configured_keys, publisher
from tests.support.harness import Deployment, running, wait_until


def fetch(dep: Deployment, path: str, token: str | None) -> tuple[int, str]:
    req = urllib.request.Request(dep.url("frontend", path=path))
    if token:
        req.add_header(identity.HTTP_HEADER, token)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def token_for(dep: Deployment, username: str) -> str:
    secret = tomllib.loads((dep.config_dir / "ocis.toml").read_text())["jwt_secret"]
    who = identity.Identity(user_id="u-1", username=username, display_name="Ein Stein", email="e@example.org")
    return identity.mint(secret, who)


@pytest.fixture(scope="module")
def plain() -> Iterator[Deployment]:
    """bus and frontend with default settings, for the tests that only read from it."""
    # No gateway runs here: the quota lookup is refused at once instead of waiting for one to start.
    with running("bus,frontend", env={"OCIS_GRPC_NO_INSTANCE_WAIT": "0"}) as dep:
        yield dep


def test_capabilities_and_user_in_both_formats_and_versions(plain: Deployment) -> None:
    dep = plain
    token = token_for(dep, "einstein")
    status, text = fetch(dep, "/ocs/v1.php/cloud/capabilities?format=json", token)
    assert status == 200
    ocs = json.loads(text)["ocs"]
    assert ocs["meta"]["statuscode"] == 100 and ocs["meta"]["status"] == "ok"
    caps = ocs["data"]["capabilities"]
    assert caps["core"]["status"]["installed"] is True and caps["core"]["webdav-root"] == "remote.php/webdav"
    assert caps["checksums"]["supportedTypes"] == ["SHA1", "MD5", "ADLER32"]
    assert ocs["data"]["version"]["major"] == 10
    # Nothing live serves chunked uploads or WebDAV here: neither is advertised.
    assert "chunking" not in caps["dav"] and "tus_support" not in caps["files"]

    status, text = fetch(dep, "/ocs/v2.php/cloud/user?format=json", token)
    ocs = json.loads(text)["ocs"]
    assert status == 200 and ocs["meta"]["statuscode"] == 200
    assert ocs["data"] == {"id": "einstein", "display-name": "Ein Stein", "email": "e@example.org", "language": "en"}

    status, text = fetch(dep, "/ocs/v1.php/cloud/user", token)
    root = ET.fromstring(text)
    assert root.findtext("meta/statuscode") == "100" and root.findtext("data/id") == "einstein"


def test_capabilities_follow_the_registry(dep: Deployment) -> None:
    """An instance announcing the uploads route turns chunking on; when it expires, chunking goes."""
    dep.start_runtime("bus,frontend", env={"FRONTEND_TUS_SUPPORT": "true"})
    token = token_for(dep, "einstein")

    def caps() -> dict[str, Any]:
        text = fetch(dep, "/ocs/v1.php/cloud/capabilities?format=json", token)[1]
        return dict(json.loads(text)["ocs"]["data"]["capabilities"])

    assert "chunking" not in caps()["dav"] and "tus_support" not in caps()["files"]
    record = InstanceRecord(
        name="webdav-peer",
        instance="peer-1",
        host="elsewhere",
        pid=1,
        started=time.time(),
        health="ready",
        routes=["/remote.php/dav/files/", "/remote.php/dav/uploads/"],
        addresses={"http": "127.0.0.1:1"},
    )
    ctx = zmq.Context()
    pub = publisher(ctx, dep.env["OCIS_BUS_PUB_ADDR"], configured_keys(dep))
    try:

        def announced() -> bool:
            pub.send_multipart(encode_record("heartbeat", record))
            return caps()["dav"].get("chunking") == "1.0"

        wait_until(announced, interval=0.2, what="chunking advertised")
        assert caps()["files"]["tus_support"]["version"] == "1.0.0"
    finally:
        pub.close(linger=0)
        ctx.term()
    wait_until(lambda: "chunking" not in caps()["dav"], what="chunking withdrawn after expiry")
    assert "tus_support" not in caps()["files"]


def test_without_internal_token_frontend_refuses(plain: Deployment) -> None:
    dep = plain
    assert fetch(dep, "/ocs/v1.php/cloud/capabilities?format=json", None)[0] == 401
    assert fetch(dep, "/ocs/v1.php/cloud/user?format=json", "forged.token.value")[0] == 401


def test_preferred_upload_checksum_is_configurable(dep: Deployment) -> None:
    dep.env["FRONTEND_CHECKSUMS_PREFERRED_UPLOAD_TYPE"] = "md5"
    dep.start_runtime("bus,frontend")
    status, text = fetch(dep, "/ocs/v2.php/cloud/capabilities?format=json", token_for(dep, "einstein"))
    assert status == 200
    assert json.loads(text)["ocs"]["data"]["capabilities"]["checksums"]["preferredUploadType"] == "MD5"


def test_xml_writes_booleans_as_one_and_zero_json_as_true_and_false(plain: Deployment) -> None:
    dep = plain
    token = token_for(dep, "einstein")
    for version in ("v1", "v2"):
        for query in ("", "?format=xml"):
            status, text = fetch(dep, f"/ocs/{version}.php/cloud/capabilities{query}", token)
            caps = ET.fromstring(text).find("data/capabilities")
            assert status == 200 and caps is not None, text
            assert caps.findtext("core/status/installed") == "1"
            assert caps.findtext("core/status/maintenance") == "0"
            assert caps.findtext("files/favorites") == "1" and caps.findtext("files/versioning") == "0"
            assert "true" not in text and "false" not in text
    caps = json.loads(fetch(dep, "/ocs/v2.php/cloud/capabilities?format=json", token)[1])["ocs"]["data"]
    assert caps["capabilities"]["core"]["status"]["installed"] is True
    assert caps["capabilities"]["files"]["versioning"] is False


def test_config_answers_as_ocis_in_both_formats_and_versions(dep: Deployment) -> None:
    dep.env["OCIS_URL"] = "https://cloud.example.com"
    dep.start_runtime("bus,frontend")
    token = token_for(dep, "einstein")
    expected = {
        "version": "1.7",
        "website": "ownCloud",
        "host": "https://cloud.example.com",
        "contact": "",
        "ssl": "true",
    }
    status, text = fetch(dep, "/ocs/v1.php/config?format=json", token)
    ocs = json.loads(text)["ocs"]
    assert (status, ocs["meta"]["statuscode"], ocs["data"]) == (200, 100, expected)
    status, text = fetch(dep, "/ocs/v2.php/config?format=json", token)
    ocs = json.loads(text)["ocs"]
    assert (status, ocs["meta"]["statuscode"], ocs["data"]) == (200, 200, expected)
    for version, code in (("v1", "100"), ("v2", "200")):
        status, text = fetch(dep, f"/ocs/{version}.php/config", token)
        root = ET.fromstring(text)
        assert (status, root.findtext("meta/statuscode")) == (200, code)
        assert {child.tag: child.text or "" for child in root.find("data") or []} == expected
