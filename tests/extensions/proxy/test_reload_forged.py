"""`ocis proxy reload` signals only a process it verified to be the proxy, never what a record names.

Real processes, with `OCIS_BUS_CURVE=false`: the proxy inside `ocis server`, a
sleeping python child that writes down every SIGHUP it gets, and a forger
announcing a `proxy` record with that child's PID and the real proxy's
addresses (the most convincing lie a record can tell).
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.forgery import forge
from tests.support.harness import Deployment, metric_value, wait_until
from tests.support.identity import QUICK_BUS

SLEEPER = """
import signal, sys, time
signal.signal(signal.SIGHUP, lambda *_: open(sys.argv[1], "a").write("SIGHUP\\n"))
open(sys.argv[1] + ".ready", "w").close()
time.sleep(600)
"""


def test_a_forged_proxy_record_gets_nothing_signalled(dep: Deployment) -> None:
    dep.env["OCIS_BUS_CURVE"] = "false"
    dep.env.update(QUICK_BUS)  # `ocis registry` and `ocis proxy reload` each listen for heartbeats
    rules = dep.root / "rules.toml"
    rules.write_text('deny = ["127.0.0.2/32"]\n')
    dep.env["PROXY_RULES_FILE"] = str(rules)
    dep.start_runtime("bus,proxy")
    got = dep.root / "sighups"
    sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER, str(got)])
    try:
        wait_until(lambda: (dep.root / "sighups.ready").exists(), what="the sleeper is up")
        real = {"debug": dep.addr("proxy", "debug_addr"), "http": dep.addr("proxy", "http_addr")}
        forge(dep, {"name": "proxy", "instance": "forged-proxy", "pid": sleeper.pid, "addresses": real})
        wait_until(lambda: "forged-proxy" in dep.ocis("registry", "--json").stdout, what="the forged record")

        def reloads() -> float:
            return metric_value(dep.metrics("proxy"), "proxy_rules_reloads_total", 'result="ok"')

        before = reloads()
        res = dep.ocis("proxy", "reload")
        out = res.stdout + res.stderr
        assert res.returncode == 0, out  # the real proxy reloaded
        assert f"forged-proxy (PID {sleeper.pid}): not signalled" in out, out
        assert reloads() == before + 1
        assert sleeper.poll() is None and not got.exists()  # alive, and no SIGHUP arrived

        rules.write_text('deny = ["127.0.0.300/32"]\n')  # a broken file still stops everything first
        res = dep.ocis("proxy", "reload")
        assert res.returncode == 1 and f"{rules}:1:" in res.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
