"""A running file stack for the WebDAV tests, and curl to talk to it.

With the front door installed (`proxy`, `auth-basic`, `users`, `groups`) the
stack is reached the way clients reach it: HTTPS through the proxy with Basic
auth. Without it, tests talk to ocdav's own address with an internal token
minted from the deployment's secret (what the proxy would forward).
"""

from __future__ import annotations

import subprocess
import tomllib
from base64 import b64encode
from dataclasses import dataclass

from multidict import CIMultiDict

from ocisd import identity
from ocisd.discovery import installed
from tests.support import sets
from tests.support.harness import Deployment, wait_until

BACKEND, FRONT = sets.FILES, sets.FRONT  # older names of the sets
ADMIN = "admin"
PASSWORD = "admin-pw-for-tests"  # what tests.support.harness.Deployment.init sets


def front_door_installed() -> bool:
    return all(n in installed() for n in FRONT)


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    body: bytes


def _split_reply(out: bytes) -> Reply:
    """curl's `-D -` output: header blocks (1xx ones first), then the body."""
    while True:
        head, _, out = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if status >= 200 or not out.startswith(b"HTTP/"):
            break
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name.strip(), value.strip())
    return Reply(status, headers, out)


@dataclass
class DavStack:
    """`root` is scheme://host:port; `base` the path of the admin's files ("/remote.php/dav/files/admin")."""

    root: str
    base: str
    auth: dict[str, str]
    proxied: bool
    user: str = ADMIN
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.root + self.base + "/"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        chunked: bool = False,
    ) -> Reply:
        """One request with curl; `path` is raw (percent-encoded) and relative to `base` unless it starts with "/"."""
        target = path if path.startswith("/") else f"{self.base}/{path}"
        cmd = ["curl", "-sS", "-k", "--http1.1", "--path-as-is", "--globoff", "--max-time", "60"]
        cmd += ["--head"] if method == "HEAD" else ["-D", "-", "-X", method]  # both print the headers first
        all_headers = {"Content-Type": "", **(self.auth if auth else {}), **(headers or {})}
        if chunked:
            all_headers["Transfer-Encoding"] = "chunked"
        for name, value in all_headers.items():
            cmd += ["-H", f"{name}: {value}" if value else f"{name}:"]
        if body is not None:
            cmd += ["--data-binary", "@-"]
        res = subprocess.run([*cmd, self.root + target], input=body or b"", capture_output=True, timeout=90)
        if res.returncode != 0:
            raise ConnectionError(f"curl {method} {target}: {res.stderr.decode(errors='replace')}")
        return _split_reply(res.stdout)


def secrets(dep: Deployment) -> dict[str, str]:
    with open(dep.config_dir / "ocis.toml", "rb") as fh:
        return {k: v for k, v in tomllib.load(fh).items() if isinstance(v, str)}


def names(proxied: bool) -> str:
    return sets.join(sets.WEBDAV if proxied else sets.FILES)


def start(dep: Deployment, env: dict[str, str] | None = None, proxied: bool | None = None) -> DavStack:
    """Start the stack in one runtime; `proxied` None means: through the proxy when it is installed."""
    use_proxy = front_door_installed() if proxied is None else proxied
    extra = dict(env or {})
    if use_proxy:
        extra.setdefault("PROXY_ACCESS_LOG", "false")
    dep.start_runtime(names(use_proxy), env=extra)
    return connect(dep, use_proxy, tls=extra.get("PROXY_TLS", "").lower() not in ("0", "false", "no"))


def connect(dep: Deployment, proxied: bool, tls: bool = True) -> DavStack:
    """A client of the running stack, once the WebDAV root answers."""
    base = f"/remote.php/dav/files/{ADMIN}"
    if proxied:
        basic = b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
        root = f"{'https' if tls else 'http'}://{dep.addr('proxy', 'http_addr')}"
        dav = DavStack(root, base, {"Authorization": f"Basic {basic}"}, True)
    else:
        s = secrets(dep)
        who = identity.Identity(user_id=s["admin_user_id"], username=ADMIN, display_name="Admin")
        token = identity.mint(s["jwt_secret"], who, ttl=3600)
        dav = DavStack(f"http://{dep.addr('ocdav', 'http_addr')}", base, {identity.HTTP_HEADER: token}, False)
    # Running is not routed yet: the gateway and proxy learn about providers from the next heartbeat.
    wait_until(lambda: dav.request("PROPFIND", "", b"", {"Depth": "0"}).status == 207, 30, what="WebDAV root")
    return dav
