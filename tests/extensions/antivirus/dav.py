"""The file stack with antivirus selected and a real clamd, reached as clients reach it.

Shared by the antivirus end-to-end tests: start it (one runtime, or each extension
under supervisord), upload through PUT, chunking NG and TUS, read the scan properties.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from base64 import b64encode

from ocisd.discovery import installed
from tests.support import sets, webdav_stack
from tests.support.clamd import Clamd
from tests.support.harness import Deployment, wait_until
from tests.support.webdav_stack import DavStack

OC = "{http://owncloud.org/ns}"
UPLOADS = ("put", "chunking-ng", "tus")
START = 90.0  # the whole server, on a machine shared by several test runs
SETTLE = 60.0  # bound for a scan to reach its outcome on a machine shared by several test runs


def env(clamd: Clamd, **extra: str) -> dict[str, str]:
    """The deployment's settings: antivirus selected (POSTPROCESSING_STEPS=auto: virusscan) on our clamd."""
    return {
        "OCIS_RUN_EXTENSIONS": sets.join(sets.ANTIVIRUS),
        "ANTIVIRUS_CLAMAV_SOCKET": clamd.address,
        "POSTPROCESSING_RETRY_MAX_DELAY": "1s",
        "POSTPROCESSING_POLL_INTERVAL": "1s",
        "PROXY_ACCESS_LOG": "false",
        **extra,
    }


def start(dep: Deployment, clamd: Clamd, whole: bool = False, **extra: str) -> DavStack:
    """`ocis server` with the antivirus set; `whole`: the default selection plus antivirus
    (OCIS_ADD_RUN_EXTENSIONS), every installed extension."""
    settings = env(clamd, **extra)
    if whole:
        del settings["OCIS_RUN_EXTENSIONS"]
        settings["OCIS_ADD_RUN_EXTENSIONS"] = "antivirus"
    proc = dep.start_runtime(env=settings, wait=False)
    dep.wait_runtime(proc, list(installed() if whole else sets.ANTIVIRUS), env=settings, timeout=START)
    return webdav_stack.connect(dep, proxied=True)


def upload(dav: DavStack, how: str, name: str, body: bytes) -> int:
    """Store `body` as /<name> by `how` (one of UPLOADS); the status of the request that made the file."""
    if how == "put":
        return dav.request("PUT", name, body).status
    if how == "chunking-ng":
        session = f"/remote.php/dav/uploads/{dav.user}/{uuid.uuid4().hex}"
        assert dav.request("MKCOL", session).status == 201
        half = len(body) // 2
        for i, part in enumerate((body[:half], body[half:])):
            assert dav.request("PUT", f"{session}/{i:016d}", part).status == 201
        return dav.request("MOVE", f"{session}/.file", None, {"Destination": f"{dav.base}/{name}"}).status
    meta = "filename " + b64encode(name.encode()).decode()
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)), "Upload-Metadata": meta}
    headers["Content-Type"] = "application/offset+octet-stream"
    return dav.request("POST", "", body, headers).status  # TUS creation with upload


def props(dav: DavStack, path: str, depth: str = "0") -> dict[str, dict[str, str]]:
    """Each resource's properties (allprop) by href, names as `oc:scan-status` / `d:getetag`."""
    reply = dav.request("PROPFIND", path, b"", {"Depth": depth})
    assert reply.status == 207, reply
    out = {}
    for response in ET.fromstring(reply.body).iter("{DAV:}response"):
        href = response.findtext("{DAV:}href") or ""
        found = response.find("{DAV:}propstat/{DAV:}prop")
        assert found is not None
        out[href] = {el.tag.replace(OC, "oc:").replace("{DAV:}", "d:"): el.text or "" for el in found}
    return out


def prop(dav: DavStack, path: str) -> dict[str, str]:
    return next(iter(props(dav, path).values()))


def settled(dav: DavStack, path: str) -> dict[str, str]:
    """The file's properties once its processing ended (anything but `processing`)."""
    return wait_until(
        lambda: (p := prop(dav, path)).get("oc:processing-status") != "processing" and p,
        SETTLE,
        interval=0.2,
        what=f"{path} processed",
    )
