"""Proxies starting together on one data dir share one self-signed pair (seen in CI: two proxies each wrote
half of it, and one failed on a key that was not its certificate's)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509

from extensions.proxy.tls import CERT_FILE, server_context
from ocisd.logs import get_logger


def test_proxies_starting_at_once_make_one_pair_and_all_load_it(tmp_path: Path) -> None:
    log = get_logger("test")
    with ThreadPoolExecutor(8) as pool:
        made = [pool.submit(server_context, "", "", tmp_path, "https://ocis.test", log) for _ in range(16)]
        for started in made:
            started.result()  # a certificate with another proxy's key raises ConfigError here
    cert = x509.load_pem_x509_certificate((tmp_path / CERT_FILE).read_bytes())
    assert "ocis.test" in str(cert.subject)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind
