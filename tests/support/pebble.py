"""Pebble, the ACME test server Let's Encrypt publishes, with pebble-challtestsrv as its DNS.

challtestsrv answers every A query with 127.0.0.1, so pebble's VA validates
HTTP-01 for any name (`ocis.test`) against the port the test gives it: the
proxy's PROXY_ACME_HTTP_ADDR. Pebble serves its own HTTPS with a certificate
made here (the proxy trusts it through PROXY_ACME_CA_BUNDLE); the root of the
chains it issues is new on every start and comes from its management API.
Both processes run on free loopback ports and are stopped by PID.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extensions.proxy.tls import create_self_signed
from tests.support.harness import free_port, wait_until
from tests.support.tools import require

REFUSED = "refused.test"  # on pebble's block list: the CA refuses to order for it
ENV = {
    "PEBBLE_VA_NOSLEEP": "1",  # validate at once instead of after a random pause
    "PEBBLE_WFE_NONCEREJECT": "0",  # no random badNonce answers
    "PEBBLE_AUTHZREUSE": "0",  # every order validates again, so every order exercises HTTP-01
}


class Pebble:
    def __init__(self, root: Path, http_port: int, validity: int = 0) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = root / "pebble-https.pem"
        create_self_signed(self.ca_bundle, root / "pebble-https.key", ["localhost", "127.0.0.1"])
        self.listen = f"127.0.0.1:{free_port()}"
        self.management = f"127.0.0.1:{free_port()}"
        self.dns = f"127.0.0.1:{free_port()}"
        self.directory = f"https://{self.listen}/dir"
        config = {
            "pebble": {
                "listenAddress": self.listen,
                "managementListenAddress": self.management,
                "certificate": str(self.ca_bundle),
                "privateKey": str(root / "pebble-https.key"),
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "domainBlocklist": [REFUSED],
            }
        }
        if validity:  # seconds an issued certificate lives (pebble's default: five years)
            config["pebble"]["certificateValidityPeriod"] = validity
        self.config = root / "pebble.json"
        self.config.write_text(json.dumps(config))
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, label: str, *argv: str) -> None:
        with open(self.root / f"{label}.log", "ab") as log:
            self._procs[label] = subprocess.Popen(
                argv,
                env={**os.environ, **ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start(self) -> None:
        """Start challtestsrv (once) and pebble; return when the directory answers."""
        if "dns" not in self._procs:
            self._spawn(
                "dns",
                require("pebble-challtestsrv"),
                *("-dns01", self.dns, "-management", f"127.0.0.1:{free_port()}", "-defaultIPv4", "127.0.0.1"),
                *("-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", ""),
            )
        self._spawn("pebble", require("pebble"), "-config", str(self.config), "-dnsserver", self.dns)
        wait_until(lambda: self._get(self.directory), 60, 0.1, what="pebble's ACME directory")

    def _get(self, url: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            return bytes(resp.read())

    def root_pem(self) -> bytes:
        """The root certificate of the chains this pebble run issues."""
        return self._get(f"https://{self.management}/roots/0")

    def stop_pebble(self) -> None:
        proc = self._procs.pop("pebble")
        proc.terminate()
        proc.wait(10)

    def close(self) -> None:
        for proc in self._procs.values():
            proc.kill()
            proc.wait(10)
        self._procs.clear()

    def log(self) -> str:
        return (self.root / "pebble.log").read_text(errors="replace")


@contextmanager
def pebble(root: Path, http_port: int, validity: int = 0) -> Iterator[Pebble]:
    server = Pebble(root, http_port, validity)
    try:
        server.start()
        yield server
    finally:
        server.close()
