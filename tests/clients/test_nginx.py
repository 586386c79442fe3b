"""docs/deploy.md, run as written: nginx balancing over two ocisd installations' proxies.

Each installation has its own bus, hello and proxy (PROXY_TLS=false, the
balancer trusted); the nginx configuration is taken from the document, with
loopback addresses and a generated certificate swapped in.
"""

from __future__ import annotations

import re
import subprocess
from functools import partial
from pathlib import Path

from extensions.proxy.tls import create_self_signed
from tests.support import tools
from tests.support.harness import Deployment, Proc, deployment, free_port, metric_value, wait_until
from tests.support.proxy import request, wait_routed

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
CLIENT = "127.0.0.10"
LOGGED = re.compile(r"request_id=[0-9a-f]{32} client_ip=" + re.escape(CLIENT))
MAIN = """\
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
{site}
}}
"""


def _logged(dep: Deployment) -> bool:
    return LOGGED.search(dep.procs[0].output()) is not None


def site_config(proxies: list[str], listen: str, cert: Path, key: Path) -> str:
    """The document's nginx block with this machine's addresses."""
    text = re.search(r"```nginx\n(.*?)```", DOC.read_text(), re.S)
    assert text, "docs/deploy.md has no nginx block"
    site = text.group(1)
    site = site.replace("10.0.0.11:9200", proxies[0]).replace("10.0.0.12:9200", proxies[1])
    site = site.replace("listen 443 ssl;", f"listen {listen} ssl;")
    site = site.replace("/etc/ssl/certs/cloud.example.com.pem", str(cert))
    return site.replace("/etc/ssl/private/cloud.example.com.key", str(key))


def start_ocisd_host(dep: Deployment) -> str:
    dep.env.update(OCIS_URL="https://cloud.example.com", PROXY_TLS="false", PROXY_TRUSTED_PROXIES="127.0.0.1/32")
    dep.start_runtime("bus,hello,proxy")
    addr = dep.addr("proxy", "http_addr")
    wait_routed(addr, "/hello/", tls=False)
    return addr


def test_nginx_balances_over_two_ocisd_proxies(dep: Deployment) -> None:
    with deployment() as other:
        proxies = [start_ocisd_host(dep), start_ocisd_host(other)]
        root = dep.root / "nginx"
        (root / "tmp").mkdir(parents=True)
        root.chmod(0o755)
        (root / "tmp").chmod(0o777)
        cert, key = root / "cert.pem", root / "key.pem"
        create_self_signed(cert, key, ["cloud.example.com", "127.0.0.1"])
        listen = f"127.0.0.1:{free_port()}"
        conf = root / "nginx.conf"
        conf.write_text(MAIN.format(root=root, site=site_config(proxies, listen, cert, key)))
        log = dep.logs / "nginx.log"
        with open(log, "wb") as fh:
            popen = subprocess.Popen(
                [tools.require("nginx"), "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        dep.procs.append(Proc("nginx", popen, log))
        wait_until(lambda: request(listen, "GET", "/hello/", source=CLIENT)[0] == 200, what="nginx in front")

        answers = [request(listen, "GET", "/hello/", source=CLIENT) for _ in range(10)]
        assert all(status == 200 for status, _, _ in answers)
        status, headers, _ = answers[0]
        assert headers["strict-transport-security"].startswith("max-age=")  # from nginx, the proxies do no TLS
        for d in (dep, other):
            served = metric_value(d.metrics("proxy"), "proxy_requests_total", 'code="2xx",route="/hello/"')
            assert served >= 3, f"one proxy got only {served} of the requests"
            # The balancer is trusted: the real client is logged, not nginx's address.
            wait_until(partial(_logged, d), what="the client behind nginx logged")
