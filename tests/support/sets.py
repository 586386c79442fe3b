"""The extension sets tests run `ocis server` with (OCIS_RUN_EXTENSIONS), named by what they serve.

A test starts the smallest set its routes need, by name, with `join` adding its own extras: every
default extension more is a start-up, a heartbeat and a registry entry more on every test's clock.
Only tests whose point is the whole default selection start without a set, and say so.
"""

from __future__ import annotations

from collections.abc import Iterable

# Files straight at ocdav's own address (with an internal token): no front door.
FILES = ("bus", "gateway", "storage-users", "ocdav")
# The front door: HTTPS through the proxy with Basic auth.
FRONT = ("users", "groups", "auth-basic", "proxy")
WEBDAV = FILES + FRONT
# Every way a user is known: passwords, bearer tokens, service identities.
IDENTITY = ("bus", "users", "groups", "auth-basic", "auth-bearer", "auth-machine")
# Shares between users at the gRPC level (no files over HTTP).
SHARING = ("bus", "users", "groups", "gateway", "storage-users", "sharing")
# Shares mounted and reached over WebDAV.
SHARES = WEBDAV + ("sharing", "storage-shares")
PUBLIC_LINKS = WEBDAV + ("sharing", "storage-publiclink")
PROCESSING = WEBDAV + ("postprocessing",)
ANTIVIRUS = PROCESSING + ("antivirus",)
THUMBNAILS = ("bus", "gateway", "storage-users", "thumbnails")
# What `ocis orchestrate check`'s workload (greets and WebDAV files through the proxy) runs on.
ORCHESTRATE = WEBDAV + ("hello",)


def join(*parts: str | Iterable[str]) -> str:
    """One OCIS_RUN_EXTENSIONS value of sets and names, in order, each name once."""
    names: dict[str, None] = {}
    for part in parts:
        for name in [part] if isinstance(part, str) else part:
            names.update(dict.fromkeys(n.strip() for n in name.split(",") if n.strip()))
    return ",".join(names)
