"""litmus, the WebDAV conformance suite, passes 100 % of basic, copymove, props, locks and http.

It runs the way a client connects: HTTPS through the proxy with Basic auth,
to ocdav, the gateway and storage-users, in one runtime and with every
extension in its own process under supervisord.
"""

from __future__ import annotations

import re
import subprocess

from tests.core.test_supervisor import Sup
from tests.support import tools, webdav_stack
from tests.support.harness import Deployment

SUITES = "basic copymove props locks http"
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")

pytestmark = tools.needs("litmus")


def run_litmus(url: str, user: str, password: str, cwd: str) -> dict[str, tuple[int, int]]:
    res = subprocess.run(
        ["litmus", url, user, password],
        env={"TESTS": SUITES, "PATH": "/usr/bin:/bin"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )
    results = {m[0]: (int(m[1]), int(m[2])) for m in SUMMARY.findall(res.stdout)}
    assert set(results) == set(SUITES.split()), res.stdout + res.stderr
    return results


def assert_litmus_passes(dep: Deployment, dav: webdav_stack.DavStack) -> None:
    results = run_litmus(dav.url, dav.user, dav.password, str(dep.root))
    failed = {suite: ran - passed for suite, (ran, passed) in results.items() if ran != passed}
    log = (dep.root / "debug.log").read_text(errors="replace")[-4000:] if failed else ""
    assert not failed, f"litmus failures {failed}\n{log}"


def test_litmus_in_one_runtime(dep: Deployment) -> None:
    assert_litmus_passes(dep, webdav_stack.start(dep, proxied=True))


def test_litmus_under_supervisord(dep: Deployment) -> None:
    sup = Sup(dep)
    try:
        sup.generate(webdav_stack.names(proxied=True), env={"PROXY_ACCESS_LOG": "false"})
        sup.run("start")
        assert_litmus_passes(dep, webdav_stack.connect(dep, proxied=True))
        # every extension ran in its own process
        assert len(set(sup.pids().values())) == len(webdav_stack.names(True).split(","))
    finally:
        sup.close()
